"""What the CLI prints as text: a repeated ``--user`` refused, control characters escaped, ``--encoding``."""

from __future__ import annotations

import pytest

from interestgraph.cli import main


@pytest.mark.parametrize("verb", ["recommend", "explain"])
def test_repeated_user_is_a_usage_error_pointing_to_users_file(saved, capsys, verb):
    root, _, model = saved
    a, b = (str(u) for u in model.user_ids[:2])
    extra = ["--item", str(model.item_ids[0])] if verb == "explain" else []
    with pytest.raises(SystemExit) as exc:
        main([verb, str(root / "m"), "--user", a, "--user", b, *extra])
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert "--user given more than once" in err and "--users FILE" in err
    assert repr(a) in err and repr(b) in err


def test_single_user_still_recommends(saved, capsys):
    root, _, model = saved
    user = str(model.user_ids[0])
    assert main(["recommend", str(root / "m"), "--user", user, "-k", "3", "--json"]) == 0
