"""show_user / interest_timeline: what the ego graph holds, limits, escaping, pictures, sources and the CLI."""

from __future__ import annotations

import dataclasses
import json
import re
import sys

import numpy as np
import pandas as pd
import pytest

from interestgraph.cli import main
from interestgraph.encoder.lexical import LexicalEncoder
from interestgraph.graph import InterestGraph
from interestgraph.graph.build import build_interest_graph
from interestgraph.model import InterestGraphModel
from interestgraph.recommend import explain, recommend
from interestgraph.viz import ViewLimits, interest_timeline, json_for_script, show_user


def test_ego_graph_is_the_users_top_interests_items_and_recommendation_paths(trained, user):
    graph, model, _ = trained
    view = show_user(
        model, user, interests=6, items_per_interest=2, recommendations=4, paths_per_recommendation=3, timeline=False
    )
    nodes, edges = view.nodes, view.edges
    assert nodes.iloc[0]["role"] == "user" and nodes.iloc[0]["key"] == f"user:{user}"
    expected = graph.user_interests(user, top=6)
    shown = nodes[nodes["role"] == "interest"]
    assert shown["label"].tolist() == expected["interest"].tolist()
    assert shown["value"].to_numpy() == pytest.approx(expected["weight"].to_numpy())
    # every item behind an interest is one of the user's items, linked to a shown interest, at most 2 per interest
    code = graph.user_code(user)
    user_item = graph.edges["user-item"]
    mine = set(graph.items[user_item.loc[user_item["src"] == code, "dst"]].astype(str))
    behind = edges[edges["kind"] == "item-interest"]
    behind_items = nodes[nodes["role"] == "item"]
    assert len(behind_items) and set(behind_items["id"]) <= mine
    off_path = behind[behind["paths"].map(len) == 0]
    assert set(off_path["target"]) <= set(shown["key"]) and off_path.groupby("target").size().max() <= 2
    # similarity edges join two shown interests with the graph's weight
    labels = graph.interests["label"].to_numpy()
    sim = graph.edges["interest-interest"]
    table = {
        (f"interest:{labels[s]}", f"interest:{labels[t]}"): w for s, t, w in zip(sim["src"], sim["dst"], sim["weight"])
    }
    for e in edges[edges["kind"] == "interest-interest"].itertuples():
        if not e.paths:
            assert (e.source, e.target) in table and e.weight == pytest.approx(table[(e.source, e.target)])
    # recommendations are recommend()'s list; their paths are explain()'s top walks, and every path edge is drawn and
    # marked
    ranked = recommend(model, [user], k=4)
    assert [r["item"] for r in view.recommendations] == [str(i) for i in ranked["item_id"]]
    keys = set(nodes["key"])
    marked = {(e.source, e.target): e.paths for e in edges.itertuples()} | {
        (e.target, e.source): e.paths for e in edges.itertuples()
    }
    for rec in view.recommendations:
        why = explain(model, user, ranked["item_id"].iloc[rec["rank"] - 1], top=3)
        assert rec["score"] == pytest.approx(why.score) and rec["n_paths"] == why.n_paths
        assert [p["contribution"] for p in rec["paths"]] == pytest.approx([p.contribution for p in why.paths])
        for path in rec["paths"]:
            assert path["nodes"][0] == f"user:{user}" and path["nodes"][-1] == rec["key"] and set(path["nodes"]) <= keys
            for a, b in zip(path["nodes"], path["nodes"][1:]):
                assert rec["rank"] in marked[(a, b)]
        assert nodes.set_index("key").loc[rec["key"], "role"] == "recommendation"
    assert set(edges["source"]) | set(edges["target"]) <= keys
    # positions: the user at the centre, interests on the inner ring, recommendations outermost
    radius = np.hypot(nodes["x"], nodes["y"])
    assert radius.iloc[0] == 0
    assert radius[nodes["role"] == "interest"].to_numpy() == pytest.approx(1.0)
    assert radius[nodes["role"] == "recommendation"].min() > radius[nodes["role"] == "interest"].max()


def test_limits_cap_heavy_users_and_bad_limits_are_named(trained, user):
    graph, _model, _ = trained
    full = show_user(graph, user, interests=10, items_per_interest=5, timeline=False)
    capped = show_user(graph, user, interests=10, items_per_interest=5, max_nodes=8, timeline=False)
    assert len(full.nodes) > 8 and len(capped.nodes) == max(
        8, len(full.nodes) - int((full.nodes["role"] == "item").sum())
    )
    assert any("max_nodes=8" in n for n in capped.ego.notes)
    kept = capped.nodes[capped.nodes["role"] == "item"]["value"]
    dropped = full.nodes[(full.nodes["role"] == "item") & ~full.nodes["key"].isin(capped.nodes["key"])]["value"]
    assert len(dropped) and (kept.empty or dropped.max() <= kept.min())
    ring1 = show_user(graph, user, radius=1, timeline=False)
    assert set(ring1.nodes["role"]) == {"user", "interest"} and set(ring1.edges["kind"]) <= {
        "user-interest",
        "interest-interest",
    }
    ring2 = show_user(trained[1], user, radius=2, timeline=False)
    assert (
        ring2.recommendations == []
        and "item" in set(ring2.nodes["role"])
        and any("radius=2" in n for n in ring2.ego.notes)
    )
    for field, value in (
        ("interests", 0),
        ("items_per_interest", -1),
        ("max_nodes", 1),
        ("paths_per_recommendation", 0),
        ("radius", 0),
        ("radius", 4),
    ):
        with pytest.raises(ValueError, match=field):
            ViewLimits(**{field: value})
    with pytest.raises(ValueError, match="not both"):
        show_user(graph, user, limits=ViewLimits(), interests=3)
    with pytest.raises(KeyError, match="not in the graph"):
        show_user(graph, "nobody")
    with pytest.raises(TypeError, match="model_or_graph"):
        show_user(42, user)


def test_graph_without_model_says_recommendations_need_one(trained, user):
    _graph, _, root = trained
    view = show_user(root / "graph", str(user), timeline=False)  # a directory, and the ID typed as text
    assert view.recommendations == [] and not view.has_model
    assert any("need a trained model" in n for n in view.ego.notes)
    assert set(view.nodes["role"]) <= {"user", "interest", "item"}
    page = view.html()
    assert "need a trained model" in page


def test_page_escapes_every_label(trained, user, titles):
    _graph, model, _ = trained
    page = show_user(model, user).html()
    # the template's own scripts only: no label opened a tag or closed the data block
    assert page.count("<script") == 5 and page.count("</script>") == 5
    assert titles[0] not in page and "onerror=" not in page.replace('"onerror"', "")
    data = re.search(r'<script type="application/json" id="ig-data">(.*?)</script>', page, re.S).group(1)
    assert "<" not in data and ">" not in data and "&" not in data
    payload = json.loads(data)
    labels = {n["label"] for n in payload["ego"]["nodes"]}
    assert labels & set(titles), "the fixture user should see a hostile title"
    assert json.loads(json_for_script({"t": titles})) == {"t": titles}
    assert (
        "http://" not in page.replace("http://www.w3.org/2000/svg", "") and "https://" not in page
    )  # nothing from the network


def test_static_pictures_and_timeline(trained, user, tmp_path):
    graph, model, _ = trained
    view = show_user(model, user)
    png = view.save_image(tmp_path / "u.png")
    svg = view.save_image(tmp_path / "u.svg", selected=None)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    assert svg.read_text().lstrip().startswith("<?xml") and "<script" not in svg.read_text()
    with pytest.raises(ValueError, match=r"\.png"):
        view.save_image(tmp_path / "u.gif")
    assert not (tmp_path / "u.gif").exists()
    timeline = interest_timeline(model, user, top=3)
    expected = graph.interest_timeline(user, top=3)
    pd.testing.assert_frame_equal(timeline.table, expected)
    assert view.timeline is not None and view.timeline["interest"].nunique() == 5
    payload = timeline.payload()["timeline"]
    assert len(payload["series"]) == 3 and len(payload["periods"]) == expected["period"].nunique()
    for series in payload["series"]:
        rows = expected[expected["interest"] == series["interest"]]
        assert series["weights"] == pytest.approx(rows["weight"].to_numpy(), abs=1e-6)
    assert timeline.save_image(tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"
    assert view.save_timeline_image(tmp_path / "t2.png").exists()
    no_time = dataclasses.replace(
        graph, split=dataclasses.replace(graph.split, log=dataclasses.replace(graph.split.log, has_timestamps=False))
    )
    with pytest.raises(ValueError, match="no timestamps"):
        interest_timeline(no_time, user)
    assert show_user(no_time, user).timeline is None
    assert "<iframe srcdoc=" in view._repr_html_() and 'sandbox="allow-scripts"' in view._repr_html_()


def test_model_directory_finds_its_graph_and_refuses_another(trained, user, make_log, tmp_path):
    _graph, model, root = trained
    from_dir = show_user(root / "model", user, timeline=False)
    direct = show_user(model, user, timeline=False)
    assert from_dir.to_dict() == direct.to_dict()
    other = build_interest_graph(make_log(seed=5), protocol="tl-4", encoder=LexicalEncoder())
    other = InterestGraph.load(other.save(tmp_path / "other"))
    with pytest.raises(ValueError, match="graph"):
        show_user(root / "model", user, graph=other)
    loaded = InterestGraphModel.load(root / "model")
    moved = loaded.fitted_state().replace(facts={**loaded.facts, "graph_path": str(tmp_path / "moved")})
    loaded = InterestGraphModel.from_state(loaded.config, loaded.train, moved, loaded.report_)
    with pytest.raises(ValueError, match="pass graph="):
        show_user(loaded, user)
    assert show_user(loaded, user, graph=root / "graph", timeline=False).to_dict() == direct.to_dict()


def test_cli_show(trained, user, tmp_path, capsys, monkeypatch):
    _graph, _, root = trained
    user = str(user)
    out = tmp_path / "u.html"
    assert (
        main(
            [
                "show",
                str(root / "model"),
                "--user",
                user,
                "--out",
                str(out),
                "--png",
                str(tmp_path / "u.png"),
                "--timeline-png",
                str(tmp_path / "t.png"),
                "-q",
                "--json",
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert out.is_file() and (tmp_path / "u.png").is_file() and (tmp_path / "t.png").is_file()
    assert (
        data["html"] == str(out) and len(data["recommendations"]) == 5 and data["nodes"] == sum(data["roles"].values())
    )
    assert data["timeline_periods"] > 1 and "protocol tl-4" in data["protocol"]
    assert main(["show", str(root / "model"), "--user", user, "--out", str(out), "-q"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["show", str(root / "graph"), "--user", user, "--out", str(out), "--overwrite", "-q"]) == 0
    text = capsys.readouterr().out
    assert "need a trained model" in text and "top interests:" in text
    for argv, message, code in (
        (["--user", "nobody"], "--user", 1),  # a user the graph does not hold: a data condition
        (["--user", user, "--paths", "0"], "--paths", 2),
        (["--user", user, "--png", str(tmp_path / "x.gif")], "--png", 2),
    ):
        assert main(["show", str(root / "graph"), *argv, "--out", str(tmp_path / "new.html"), "-q"]) == code
        assert message in capsys.readouterr().err
    assert not (tmp_path / "new.html").exists()
    assert main(["show", str(tmp_path), "--user", user, "--out", str(tmp_path / "new.html"), "-q"]) == 2
    assert "not a graph or model directory" in capsys.readouterr().err
    # a picture that cannot be written leaves no page behind either
    (tmp_path / "p.png").mkdir()
    assert (
        main(
            [
                "show",
                str(root / "graph"),
                "--user",
                user,
                "--out",
                str(tmp_path / "new.html"),
                "--png",
                str(tmp_path / "p.png"),
                "-q",
            ]
        )
        == 2
    )
    assert "a directory" in capsys.readouterr().err and not (tmp_path / "new.html").exists()
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert (
        main(
            [
                "show",
                str(root / "graph"),
                "--user",
                user,
                "--out",
                str(tmp_path / "new.html"),
                "--png",
                str(tmp_path / "q.png"),
                "-q",
            ]
        )
        == 2
    )
    assert "pip install 'interestgraph[viz]'" in capsys.readouterr().err and not (tmp_path / "new.html").exists()


def test_non_finite_numbers_reach_the_page_as_null(trained, user):
    view = show_user(trained[1], user, timeline=False)
    view.ego.nodes.at[1, "details"]["w(v|u)"] = float("nan")
    view.ego.recommendations[0]["score"] = float("inf")
    payload = json.loads(re.search(r'id="ig-data">(.*?)</script>', view.html(), re.S).group(1))
    assert (
        payload["ego"]["nodes"][1]["details"]["w(v|u)"] is None
        and payload["ego"]["recommendations"][0]["score"] is None
    )


def test_demo_page_names_never_leave_the_folder():
    from interestgraph.cli.demo import page_name

    assert page_name("u42") == "user-u42" and page_name(7) == "user-7"
    for hostile in ("../../etc/passwd", "a/b", "..", "<x>"):
        name = page_name(hostile)
        assert name.startswith("user-") and "/" not in name and "<" not in name
