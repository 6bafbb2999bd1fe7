"""Built-in taxonomy of interest points for the synthetic behaviour-log generator.

The synthetic generator builds a fake shop/media catalog from this module:
items are tagged with interests, titled with :attr:`Domain.title_templates`
(filled with Title-Cased interest keywords and domain adjectives), described
with :data:`DESCRIPTION_TEMPLATES`, searched for with :data:`QUERY_TEMPLATES`
and reviewed with :data:`REVIEW_TEMPLATES`.

Structure: ``DOMAINS`` -> :class:`Domain` -> :class:`Cluster` ->
:class:`Interest`.  Interests in one cluster are related to each other (the
generator uses this to plant correlated user tastes).  All labels are
lowercase ASCII; interest names are globally unique, synonyms are globally
unique and never equal to an interest name.  Synonyms are alternative surface
forms a person would use interchangeably ("sci-fi" for "science fiction"),
some differing only in form (hyphen, spacing, abbreviation), so that later
label-merging stages have realistic near-duplicates to resolve.

Pure data: no third-party imports and no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DESCRIPTION_TEMPLATES",
    "DOMAINS",
    "QUERY_TEMPLATES",
    "REVIEW_TEMPLATES",
    "Cluster",
    "Domain",
    "Interest",
    "all_interests",
]


@dataclass(frozen=True)
class Interest:
    """One interest point.

    ``name`` is the canonical lowercase label, ``synonyms`` alternative
    surface forms (may be empty) and ``keywords`` 5-7 lowercase single words
    evoking the interest, used in generated titles, descriptions and queries.
    """

    name: str
    synonyms: tuple[str, ...]
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class Cluster:
    """A group of related interests within one domain."""

    name: str
    interests: tuple[Interest, ...]


@dataclass(frozen=True)
class Domain:
    """A catalog domain (e.g. movies) with its title vocabulary and clusters."""

    name: str
    item_noun: str
    title_templates: tuple[str, ...]
    adjectives: tuple[str, ...]
    clusters: tuple[Cluster, ...]


def _i(name: str, keywords: str, *synonyms: str) -> Interest:
    """Compact constructor: keywords as one space-separated string."""
    return Interest(name=name, synonyms=tuple(synonyms), keywords=tuple(keywords.split()))


def _c(name: str, *interests: Interest) -> Cluster:
    return Cluster(name=name, interests=tuple(interests))


# --------------------------------------------------------------------------
# Domains
# --------------------------------------------------------------------------

_MOVIES = Domain(
    name="movies",
    item_noun="film",
    title_templates=(
        "The {Adj} {Noun}",
        "{Noun} of the {Noun2}",
        "Return to {Noun}",
        "The Last {Noun}",
        "{Adj} {Noun}",
        "Beyond the {Noun}",
        "{Noun} Rising",
        "Night of the {Adj} {Noun}",
    ),
    adjectives=(
        "Silent",
        "Crimson",
        "Hidden",
        "Midnight",
        "Broken",
        "Savage",
        "Eternal",
        "Dark",
        "Golden",
        "Forgotten",
        "Burning",
        "Lost",
        "Wild",
        "Final",
        "Iron",
        "Distant",
        "Shattered",
        "Fearless",
        "Secret",
        "Frozen",
    ),
    clusters=(
        _c(
            "science fiction films",
            _i("space opera", "starship galaxy empire fleet admiral nebula", "space epic"),
            _i("cyberpunk films", "neon hacker android megacity implant"),
            _i("time travel films", "paradox timeline machine future loop", "time-travel movies"),
            _i("alien invasion films", "alien invasion mothership abduction saucer"),
            _i("dystopian films", "regime surveillance rebellion curfew propaganda"),
            _i(
                "post-apocalyptic films",
                "wasteland survivor fallout scavenger bunker",
                "post apocalyptic movies",
            ),
        ),
        _c(
            "horror and thriller films",
            _i("horror films", "haunting scream terror nightmare darkness", "horror movies", "scary movies"),
            _i("slasher films", "killer mask machete camp victim"),
            _i("supernatural horror", "ghost demon possession exorcism curse"),
            _i("zombie films", "zombie undead outbreak horde infection"),
            _i("psychological thrillers", "obsession paranoia twist deception memory"),
            _i("found footage", "camcorder tape recording footage evidence basement"),
        ),
        _c(
            "comedy and romance films",
            _i("romantic comedies", "wedding romance proposal dating bouquet", "rom-coms"),
            _i("slapstick comedy", "pratfall prank banana chase clown"),
            _i("satire films", "satire politics parody spoof irony"),
            _i("buddy comedies", "partner roadtrip sidekick friendship mismatch"),
            _i("coming-of-age films", "adolescence summer prom graduation friendship", "coming of age movies"),
            _i("period dramas", "corset estate ballroom aristocracy inheritance", "costume dramas"),
        ),
        _c(
            "action and adventure films",
            _i("martial arts films", "kungfu dojo master tournament temple", "kung fu movies"),
            _i("heist films", "vault heist crew casino getaway", "caper films"),
            _i("spy films", "spy agent gadget mission tuxedo"),
            _i("westerns", "cowboy outlaw saloon sheriff frontier"),
            _i("war films", "soldier battlefield trench platoon general"),
            _i("superhero films", "superhero villain cape powers sidekick", "comic book movies"),
        ),
        _c(
            "documentary and world cinema",
            _i("nature documentaries", "wildlife ocean predator migration habitat", "wildlife documentaries"),
            _i("true crime documentaries", "murder investigation trial detective confession", "true crime docs"),
            _i("anime films", "anime spirit studio robot village", "japanese animation"),
            _i("film noir", "shadows gangster nightclub fedora alley"),
            _i("french new wave", "paris cafe auteur philosophy scooter", "nouvelle vague"),
            _i("silent films", "piano intertitles vaudeville tramp pantomime"),
            _i("bollywood", "dance melody masala monsoon family", "hindi cinema"),
        ),
    ),
)

_BOOKS = Domain(
    name="books",
    item_noun="book",
    title_templates=(
        "The {Adj} {Noun}",
        "A {Noun} of {Noun2}",
        "{Noun} and {Noun2}",
        "The {Noun} Keeper",
        "Letters from the {Noun}",
        "The {Adj} {Noun} Chronicles",
        "When the {Noun} Falls",
        "The {Noun}'s Daughter",
    ),
    adjectives=(
        "Quiet",
        "Hidden",
        "Forgotten",
        "Secret",
        "Golden",
        "Lost",
        "Little",
        "Winter",
        "Velvet",
        "Crooked",
        "Distant",
        "Bright",
        "Wandering",
        "Last",
        "Silver",
        "Gentle",
        "Tangled",
        "Unwritten",
        "Wicked",
        "Paper",
    ),
    clusters=(
        _c(
            "speculative fiction",
            _i("epic fantasy", "dragon kingdom quest prophecy sword", "high fantasy"),
            _i("urban fantasy", "vampire werewolf witch city magic"),
            _i("hard science fiction", "physics orbit colony engineering relativity", "hard sf", "hard sci-fi"),
            _i("cyberpunk fiction", "cyberspace megacorp implant matrix runner"),
            _i("sword and sorcery", "barbarian sorcerer tavern axe sorcery", "sword & sorcery"),
            _i("fairy tale retellings", "princess spell forest tower godmother", "fairytale retellings"),
            _i("grimdark", "mercenary betrayal siege warlord ruin"),
        ),
        _c(
            "mystery, crime and horror fiction",
            _i("cozy mysteries", "village bakery sleuth cat vicar", "cosy mysteries"),
            _i("detective fiction", "detective clue suspect alibi inspector", "whodunits"),
            _i("hardboiled fiction", "gumshoe whiskey rain precinct racket", "noir fiction"),
            _i("legal thrillers", "lawyer courtroom jury verdict attorney"),
            _i("spy novels", "cipher defector handler embassy dossier", "espionage fiction"),
            _i("horror fiction", "haunted manor dread ghoul crypt", "horror novels"),
            _i("true crime books", "forensic case motive prosecutor inmate"),
        ),
        _c(
            "literary and historical fiction",
            _i("literary fiction", "family grief identity marriage longing"),
            _i("historical fiction", "century dynasty revolution queen plague", "historical novels"),
            _i("classic literature", "novel victorian author classic tragedy", "the classics"),
            _i("poetry", "verse sonnet poem rhyme stanza"),
            _i("magical realism", "dream miracle butterfly solitude carnival", "magic realism"),
            _i("short stories", "story collection anthology vignette tale", "short fiction"),
        ),
        _c(
            "nonfiction",
            _i("biographies", "life legacy childhood career portrait"),
            _i("popular science", "universe brain evolution gene quantum", "pop science"),
            _i("self-help", "habit productivity mindset happiness confidence", "self help", "personal development"),
            _i("popular history", "civilization battle ancient medieval archive", "history books"),
            _i("philosophy books", "ethics logic stoicism meaning existence"),
            _i("business books", "startup leadership strategy negotiation investing"),
        ),
        _c(
            "children, teens and comics",
            _i("picture books", "bunny alphabet crayon puppy farm"),
            _i("young adult fiction", "teen crush academy chosen rival", "ya fiction", "ya novels"),
            _i("middle grade novels", "school secret treasure sibling mystery", "middle-grade fiction"),
            _i("graphic novels", "panel illustration inking comic storyboard", "comics"),
            _i("manga", "manga shonen ninja tokyo volume", "japanese comics"),
        ),
    ),
)

_MUSIC = Domain(
    name="music",
    item_noun="album",
    title_templates=(
        "{Adj} {Noun}",
        "{Noun} Sessions",
        "Songs of the {Noun}",
        "{Noun} & {Noun2}",
        "Live at the {Noun}",
        "{Adj} {Noun} (Deluxe Edition)",
        "The {Noun} Tapes",
        "{Noun} Forever",
    ),
    adjectives=(
        "Electric",
        "Velvet",
        "Neon",
        "Blue",
        "Wild",
        "Golden",
        "Midnight",
        "Sonic",
        "Cosmic",
        "Restless",
        "Endless",
        "Lonely",
        "Bright",
        "Heavy",
        "Sweet",
        "Analog",
        "Broken",
        "Fading",
        "Burning",
        "Echoing",
    ),
    clusters=(
        _c(
            "rock and metal",
            _i("classic rock", "guitar riff arena vinyl legend"),
            _i("indie rock", "jangle garage underground fuzz college"),
            _i("punk rock", "mohawk anarchy pogo zine chord", "punk"),
            _i("heavy metal", "metal thunder shred headbang amplifier", "metal"),
            _i("grunge", "flannel seattle angst feedback sludge"),
            _i("progressive rock", "concept suite mellotron odyssey prism", "prog rock"),
            _i("shoegaze", "reverb haze wall shimmer pedal"),
        ),
        _c(
            "electronic music",
            _i("techno", "warehouse berlin pulse minimal industrial"),
            _i("house music", "disco groove chicago dancefloor diva", "house"),
            _i("ambient music", "drone atmosphere texture calm soundscape"),
            _i("drum and bass", "breakbeat jungle bassline amen rave", "drum & bass", "dnb"),
            _i("synthwave", "synthesizer arcade cassette sunset chrome", "retrowave", "outrun"),
            _i("dubstep", "wobble drop subbass grime halftime"),
        ),
        _c(
            "jazz, blues and soul",
            _i("bebop", "saxophone improvisation trumpet quartet solo", "be-bop"),
            _i("delta blues", "slide harmonica mississippi juke crossroads"),
            _i("soul music", "vocals heartache motown falsetto ballad", "soul"),
            _i("funk", "slap brass horns clavinet groove"),
            _i("gospel music", "choir church hallelujah praise spiritual"),
            _i("swing music", "swing orchestra lindy jitterbug clarinet", "big band"),
        ),
        _c(
            "hip hop, r&b and pop",
            _i("hip hop", "beats mic cypher turntable sample", "hip-hop", "rap"),
            _i("contemporary r&b", "love harmony melisma vocalist midnight", "rnb"),
            _i("k-pop", "idol seoul comeback choreography fandom", "korean pop"),
            _i("synth-pop", "synth eighties keyboard electro chorus", "electropop"),
            _i("trap music", "atlanta hihat autotune mixtape flex", "trap"),
            _i("lo-fi hip hop", "chill study crackle jazzy nostalgia", "lofi beats", "chillhop"),
            _i("pop music", "chart radio hook single catchy"),
        ),
        _c(
            "classical, folk and country",
            _i("baroque music", "harpsichord fugue concerto cantata organ"),
            _i("opera", "aria soprano tenor libretto stage"),
            _i("orchestral music", "symphony orchestra conductor violin overture", "symphonic music"),
            _i("folk music", "acoustic storyteller campfire protest tradition"),
            _i("bluegrass", "banjo fiddle mandolin appalachian picking"),
            _i("country music", "nashville honkytonk truck steel heartbreak"),
            _i("celtic music", "bagpipes whistle reel jig harp", "irish folk"),
        ),
    ),
)

_FOOD = Domain(
    name="food & cooking",
    item_noun="cookbook",
    title_templates=(
        "The {Adj} {Noun} Cookbook",
        "{Noun} Every Day",
        "{Adj} {Noun} and {Noun2}",
        "Mastering {Noun}",
        "The Joy of {Noun}",
        "{Noun} at Home",
        "100 {Adj} {Noun} Recipes",
        "Simply {Noun}",
    ),
    adjectives=(
        "Rustic",
        "Homemade",
        "Simple",
        "Golden",
        "Spicy",
        "Sweet",
        "Fresh",
        "Hearty",
        "Crispy",
        "Smoky",
        "Savory",
        "Everyday",
        "Zesty",
        "Cozy",
        "Quick",
        "Ultimate",
        "Classic",
        "Wholesome",
        "Little",
        "Humble",
    ),
    clusters=(
        _c(
            "world cuisines",
            _i("italian cuisine", "pasta risotto parmesan basil tiramisu", "italian food"),
            _i("japanese cuisine", "sushi ramen miso tempura wasabi"),
            _i("mexican cuisine", "taco salsa tortilla mole enchilada"),
            _i("indian cuisine", "curry naan tandoor lentil chutney", "indian food"),
            _i("thai cuisine", "lemongrass coconut galangal satay lime"),
            _i("french cuisine", "bistro sauce butter escargot souffle"),
            _i("middle eastern cuisine", "hummus falafel tahini shawarma pita", "levantine cuisine"),
        ),
        _c(
            "baking and desserts",
            _i("sourdough baking", "sourdough starter loaf crust levain"),
            _i("cake decorating", "frosting fondant buttercream sprinkles tier"),
            _i("pastry", "croissant eclair tart puff lamination", "patisserie"),
            _i("chocolate making", "cocoa truffle ganache praline tempering"),
            _i("gluten-free baking", "buckwheat tapioca celiac almond xanthan", "gluten free baking"),
        ),
        _c(
            "healthy eating and diets",
            _i("vegan cooking", "vegan tofu tempeh seitan chickpea", "plant-based cooking"),
            _i("vegetarian cooking", "veggie halloumi mushroom frittata lasagna"),
            _i("keto diet", "ketosis avocado bacon macros cauliflower", "ketogenic diet", "keto"),
            _i("meal prep", "batch container portion planner lunchbox", "meal prepping"),
            _i("paleo diet", "primal caveman broth berries nuts"),
            _i("mediterranean diet", "olive feta sardine greek tomato"),
        ),
        _c(
            "grilling and comfort food",
            _i("barbecue", "grill brisket ribs charcoal rub", "bbq", "barbeque"),
            _i("meat smoking", "smoker hickory mesquite pellet bark", "smoking meat"),
            _i("slow cooking", "crockpot stew braise pot tender"),
            _i("comfort food", "macaroni meatloaf gravy dumpling pie"),
            _i("street food", "vendor stall skewer noodle hawker"),
            _i("fermentation", "kimchi kombucha sauerkraut pickle brine"),
            _i("cast iron cooking", "skillet seasoning sear cornbread dutch", "cast-iron cooking"),
        ),
        _c(
            "drinks",
            _i("specialty coffee", "espresso latte roast barista pourover", "third wave coffee"),
            _i("loose leaf tea", "oolong matcha sencha teapot steep", "loose-leaf tea"),
            _i("craft beer", "hops stout lager brewery ipa"),
            _i("wine tasting", "vineyard cabernet merlot sommelier vintage", "oenology"),
            _i("cocktails", "martini shaker bitters mojito gin", "mixology"),
            _i("homebrewing", "wort yeast carboy malt airlock", "home brewing"),
        ),
    ),
)

_TRAVEL = Domain(
    name="travel",
    item_noun="travel guide",
    title_templates=(
        "{Adj} {Noun}: A Traveler's Guide",
        "The {Noun} Trail",
        "{Noun} and Beyond",
        "The {Adj} Guide to {Noun}",
        "Chasing {Noun}",
        "{Noun} on a Shoestring",
        "Postcards from the {Noun}",
        "{Adj} {Noun} Escapes",
    ),
    adjectives=(
        "Hidden",
        "Wild",
        "Grand",
        "Secret",
        "Sunny",
        "Ultimate",
        "Essential",
        "Wandering",
        "Golden",
        "Distant",
        "Coastal",
        "Northern",
        "Southern",
        "Undiscovered",
        "Timeless",
        "Vibrant",
        "Ancient",
        "Remote",
        "Little",
        "Endless",
    ),
    clusters=(
        _c(
            "adventure travel",
            _i("backpacking", "hostel backpack bus passport border"),
            _i("wildlife safaris", "savanna lion elephant jeep serengeti", "safaris"),
            _i("road trips", "highway motel roadside convertible mileage", "road tripping"),
            _i("overlanding", "expedition rooftop winch track desert"),
            _i("polar expeditions", "arctic antarctica iceberg glacier penguin"),
            _i("volcano tourism", "crater lava magma caldera geyser"),
        ),
        _c(
            "city breaks",
            _i("european city breaks", "cathedral piazza tram boulevard metro", "city breaks"),
            _i("food tourism", "market tasting tapas trattoria foodie", "culinary travel"),
            _i("architecture tours", "skyline skyscraper facade dome bridge", "architectural tours"),
            _i("museum hopping", "museum gallery exhibit masterpiece curator"),
            _i("christmas markets", "mulled gingerbread ornament pretzel advent"),
        ),
        _c(
            "beaches and islands",
            _i("tropical islands", "palm lagoon coral hammock atoll"),
            _i("beach holidays", "beach sunbathing sand umbrella seaside", "beach vacations"),
            _i("cruises", "cruise ship cabin deck port"),
            _i("surf trips", "swell reef barrel lineup boardshorts"),
            _i("sailing holidays", "yacht catamaran marina harbor anchor"),
            _i("all-inclusive resorts", "resort buffet poolside spa cabana", "all inclusive resorts"),
        ),
        _c(
            "culture and history travel",
            _i("ancient ruins", "ruins pyramid acropolis amphitheater excavation", "archaeological sites"),
            _i("pilgrimage routes", "pilgrim camino shrine monastery waymark"),
            _i("rail journeys", "railway sleeper carriage station timetable", "train travel"),
            _i("world heritage sites", "heritage unesco landmark monument preservation"),
            _i("festival travel", "festival parade lantern fireworks costume"),
            _i("language immersion", "language homestay phrasebook fluency dialect"),
        ),
        _c(
            "travel styles",
            _i("budget travel", "budget bargain deal savings fare"),
            _i("luxury travel", "suite concierge champagne villa firstclass"),
            _i("solo travel", "solo independence journal freedom selfie"),
            _i("family travel", "kids stroller waterpark playground babysitter"),
            _i("digital nomad life", "laptop coworking wifi visa remote", "digital nomadism"),
            _i("van life", "campervan conversion solar boondocking sunrise", "vanlife"),
        ),
    ),
)

_TECHNOLOGY = Domain(
    name="technology",
    item_noun="gadget",
    title_templates=(
        "The {Adj} {Noun}",
        "{Noun} Pro",
        "{Noun} X",
        "{Adj} {Noun} 2",
        "{Noun} Max",
        "{Noun} Mini",
        "{Noun} and {Noun2} Kit",
        "{Adj} {Noun} Hub",
    ),
    adjectives=(
        "Smart",
        "Ultimate",
        "Essential",
        "Compact",
        "Wireless",
        "Modern",
        "Digital",
        "Portable",
        "Advanced",
        "Complete",
        "Practical",
        "Tiny",
        "Rapid",
        "Clever",
        "Connected",
        "Hyper",
        "Quantum",
        "Silent",
        "Nimble",
        "Turbo",
    ),
    clusters=(
        _c(
            "mobile and wearables",
            _i("smartphones", "smartphone battery screen charger app", "mobile phones", "cell phones"),
            _i("smartwatches", "smartwatch strap notification dial wrist", "smart watches"),
            _i("fitness trackers", "tracker steps pedometer sleep calories", "activity trackers"),
            _i("wireless earbuds", "earbuds bluetooth audio noise charging"),
            _i("e-readers", "ereader ebook eink library highlight", "ebook readers"),
        ),
        _c(
            "computers and pc hardware",
            _i("pc building", "motherboard gpu cpu cooler chassis"),
            _i("mechanical keyboards", "keycap switches keyboard typing clicky", "mech keyboards"),
            _i("gaming laptops", "laptop rgb refresh thermals wattage"),
            _i("ultrabooks", "ultrabook aluminum lightweight trackpad commute", "thin and light laptops"),
            _i("computer monitors", "monitor ultrawide resolution pixel hdr", "pc monitors"),
            _i("home networking", "router mesh ethernet bandwidth modem"),
        ),
        _c(
            "smart home",
            _i("smart speakers", "speaker assistant voice command playlist", "voice assistants"),
            _i("home automation", "automation hub routine sensor zigbee", "smart home"),
            _i("smart lighting", "bulb dimmer color scene lamp"),
            _i("home security cameras", "doorbell cctv motion alert nightvision"),
            _i("robot vacuums", "vacuum mop dustbin lidar carpet", "robotic vacuums"),
        ),
        _c(
            "photo and video gear",
            _i("mirrorless cameras", "mirrorless sensor autofocus viewfinder shutter"),
            _i("camera drones", "drone propeller gimbal altitude aerial", "drones", "quadcopters"),
            _i("action cameras", "helmet mount waterproof stabilization timelapse", "action cams"),
            _i("film photography", "analog negative darkroom emulsion rangefinder", "analog photography"),
            _i("camera lenses", "lens aperture bokeh prime zoom"),
            _i("vlogging gear", "microphone tripod ringlight vlog webcam"),
            _i("astrophotography", "telescope stars milkyway equatorial constellation", "astro photography"),
        ),
        _c(
            "maker and diy electronics",
            _i("3d printing", "filament nozzle printer resin slicer", "3d printers", "additive manufacturing"),
            _i("arduino projects", "arduino microcontroller breadboard led servo", "arduino"),
            _i("raspberry pi projects", "raspberry linux gpio emulator server", "raspberry pi"),
            _i("retro computing", "commodore amiga floppy bbs crt", "vintage computers"),
            _i("soldering", "solder iron flux circuit pcb"),
            _i("hobby robotics", "robot actuator gripper motor encoder"),
            _i("ham radio", "antenna transceiver morse callsign frequency", "amateur radio"),
        ),
    ),
)

_SPORTS = Domain(
    name="sports & outdoors",
    item_noun="piece of gear",
    title_templates=(
        "{Adj} {Noun} Pack",
        "{Noun} Pro",
        "The {Noun} Kit",
        "{Adj} {Noun}",
        "{Noun} Trainer",
        "{Noun} Elite",
        "{Adj} {Noun} Set",
        "{Noun} & {Noun2} Bundle",
    ),
    adjectives=(
        "Ultimate",
        "Rugged",
        "Wild",
        "Fast",
        "Extreme",
        "Complete",
        "Essential",
        "Alpine",
        "Fearless",
        "Endless",
        "Bold",
        "Mighty",
        "Swift",
        "Active",
        "Iron",
        "Relentless",
        "Outdoor",
        "Agile",
        "Trusty",
        "Lightweight",
    ),
    clusters=(
        _c(
            "running and fitness",
            _i("trail running", "trail ultra ridge hydration gaiters", "off-road running"),
            _i("marathon training", "marathon pace splits taper bib"),
            _i("yoga", "mat asana vinyasa meditation flexibility"),
            _i("weightlifting", "barbell dumbbell squat deadlift plates", "weight training", "strength training"),
            _i("pilates", "reformer core posture stretch toning"),
            _i("home workouts", "kettlebell resistance band pushup burpee"),
        ),
        _c(
            "outdoor adventures",
            _i("hiking", "trailhead boots summit switchback compass", "trekking"),
            _i("camping", "tent stove tarp campsite firewood"),
            _i("rock climbing", "rope harness carabiner belay crag", "climbing"),
            _i("bouldering", "boulder crashpad chalk overhang grip"),
            _i("fishing", "rod reel lure bait tackle", "angling"),
            _i("kayaking", "kayak paddle rapids spraydeck river"),
            _i("birdwatching", "binoculars warbler feeder heron lifelist", "birding", "bird watching"),
        ),
        _c(
            "team sports",
            _i("soccer", "goalkeeper striker pitch cleats penalty", "football"),
            _i("basketball", "hoop dunk court rebound jersey", "hoops"),
            _i("american football", "quarterback touchdown linebacker endzone tackle", "gridiron"),
            _i("baseball", "pitcher bat glove inning homerun"),
            _i("ice hockey", "puck rink goalie slapshot skates", "hockey"),
            _i("rugby", "scrum lineout ruck conversion oval"),
        ),
        _c(
            "cycling, board and water sports",
            _i("road cycling", "peloton derailleur saddle cadence sprint", "road biking"),
            _i("mountain biking", "suspension singletrack downhill berm dropper", "mtb"),
            _i("skateboarding", "skateboard ollie kickflip halfpipe griptape"),
            _i("surfing", "surfboard wetsuit leash wax longboard"),
            _i("snowboarding", "snowboard binding powder park goggles"),
            _i("skiing", "ski slope chairlift mogul lodge"),
            _i("swimming", "pool lane freestyle stroke goggles"),
        ),
        _c(
            "racket and precision sports",
            _i("tennis", "racket baseline volley ace clay"),
            _i("golf", "tee fairway putter birdie caddie"),
            _i("badminton", "shuttlecock smash rally feather racquet"),
            _i("table tennis", "topspin rubber blade spin table", "ping pong"),
            _i("archery", "bow arrow target quiver fletching"),
        ),
    ),
)

_FASHION = Domain(
    name="fashion",
    item_noun="piece",
    title_templates=(
        "The {Adj} {Noun}",
        "{Noun} Edit",
        "{Adj} {Noun} Collection",
        "{Noun} Classic",
        "The {Noun} Capsule",
        "{Noun} & {Noun2}",
        "{Noun} Studio",
        "Little {Adj} {Noun}",
    ),
    adjectives=(
        "Classic",
        "Vintage",
        "Modern",
        "Effortless",
        "Bold",
        "Chic",
        "Timeless",
        "Urban",
        "Velvet",
        "Golden",
        "Midnight",
        "Elegant",
        "Casual",
        "Relaxed",
        "Sleek",
        "Essential",
        "Signature",
        "Luxe",
        "Everyday",
        "Tailored",
    ),
    clusters=(
        _c(
            "streetwear and casual",
            _i("streetwear", "hoodie collab logo hype cargo", "street style"),
            _i("sneakers", "sneaker lace sole colorway resale"),
            _i("denim", "selvedge indigo rivet jacket fade", "jeans"),
            _i("athleisure", "leggings joggers tracksuit windbreaker comfort", "activewear"),
            _i("graphic tees", "tee print slogan cotton band", "graphic t-shirts"),
        ),
        _c(
            "classic and formal wear",
            _i("tailoring", "suit lapel tweed trousers pinstripe", "bespoke tailoring"),
            _i("business attire", "blazer shirt tie briefcase office"),
            _i("evening gowns", "gown silk sequin gala satin"),
            _i("preppy style", "polo cardigan loafers chinos argyle", "preppy"),
            _i("bridal fashion", "veil bridesmaid tiara tulle ivory", "bridal wear"),
            _i("dress shoes", "oxford brogue derby leather polish"),
        ),
        _c(
            "vintage and alternative",
            _i("vintage clothing", "fifties sixties seventies deadstock heirloom", "vintage fashion"),
            _i("gothic fashion", "velvet choker raven victorian ruffle", "goth fashion"),
            _i("bohemian style", "fringe paisley kaftan tassel embroidery", "boho", "boho chic"),
            _i("punk fashion", "studs tartan spikes patches safetypin"),
            _i("y2k fashion", "rhinestone glitter babydoll bandana lipgloss", "early 2000s fashion"),
            _i("cottagecore", "prairie gingham meadow apron floral", "cottage core"),
        ),
        _c(
            "accessories",
            _i("luxury watches", "chronograph bezel tourbillon sapphire movement", "timepieces"),
            _i("handbags", "clutch tote satchel buckle monogram", "purses"),
            _i("sunglasses", "aviator frame polarized tint wayfarer", "shades"),
            _i("jewelry", "necklace earrings bracelet pendant gemstone", "jewellery"),
            _i("hats and caps", "beanie beret snapback brim panama"),
            _i("scarves", "scarf shawl cashmere pashmina wrap"),
        ),
        _c(
            "sustainable and specialty fashion",
            _i("sustainable fashion", "recycled ethical upcycled hemp organic", "eco fashion", "slow fashion"),
            _i("thrifting", "charity consignment haul rack flea", "thrift shopping", "secondhand shopping"),
            _i("plus-size fashion", "curve inclusive sizing fit wrapdress", "plus size fashion"),
            _i("technical outerwear", "parka shell membrane hood insulation"),
            _i("capsule wardrobe", "capsule essentials basics staples neutral", "minimalist wardrobe"),
            _i("modest fashion", "hijab abaya tunic layering maxi"),
        ),
    ),
)

_HOME = Domain(
    name="home & garden",
    item_noun="product",
    title_templates=(
        "{Adj} {Noun} Kit",
        "The {Noun} Set",
        "{Adj} {Noun} Collection",
        "{Noun} Essentials",
        "{Noun} & {Noun2}",
        "The {Adj} {Noun}",
        "{Noun} Starter Pack",
        "Home {Noun} Bundle",
    ),
    adjectives=(
        "Cozy",
        "Modern",
        "Rustic",
        "Green",
        "Simple",
        "Little",
        "Tidy",
        "Happy",
        "Peaceful",
        "Natural",
        "Bright",
        "Handmade",
        "Homemade",
        "Secret",
        "Blooming",
        "Wild",
        "Sunny",
        "Calm",
        "Practical",
        "Essential",
    ),
    clusters=(
        _c(
            "gardening",
            _i("vegetable gardening", "seedling harvest trellis zucchini carrot", "kitchen gardening", "veg growing"),
            _i("houseplants", "monstera pothos fern planter humidity", "indoor plants"),
            _i("succulents", "succulent cactus aloe terrarium echeveria"),
            _i("organic gardening", "mulch companion heirloom pollinator ladybug"),
            _i("composting", "compost worms bin scraps humus"),
            _i("bonsai", "bonsai pruning juniper maple miniature"),
            _i("permaculture", "swale polyculture perennial keyline greywater"),
        ),
        _c(
            "interior design",
            _i("scandinavian design", "birch oak linen sheepskin simplicity", "scandi style", "nordic design"),
            _i("mid-century modern", "teak sideboard walnut credenza starburst", "mid century modern", "mcm"),
            _i("minimalist decor", "monochrome concrete shelving zen stillness", "minimalism"),
            _i("farmhouse style", "shiplap barn mason wreath pantry", "farmhouse decor"),
            _i("industrial decor", "brick loft pipe girder iron"),
            _i("japandi", "tatami shoji wabisabi ceramic bamboo"),
        ),
        _c(
            "diy and crafts",
            _i("woodworking", "chisel lathe dovetail sawdust workbench"),
            _i("knitting", "yarn needles cable sweater stitch"),
            _i("crochet", "hook amigurumi granny afghan doily", "crocheting"),
            _i("quilting", "quilt patchwork batting applique binding"),
            _i("pottery", "clay wheel glaze kiln vase", "ceramics"),
            _i("candle making", "candle wick soy fragrance mold", "candlemaking"),
            _i("home renovation", "drywall tile plumbing contractor demolition", "home improvement"),
        ),
        _c(
            "home organization and living",
            _i("decluttering", "clutter donate drawer wardrobe simplify", "tidying up"),
            _i("home organization", "labels storage baskets closet hooks", "home organisation"),
            _i("cozy living", "blanket throw fireplace slippers nook", "hygge"),
            _i("tiny houses", "trailer footprint ladder downsizing skylight", "tiny homes"),
            _i("home office setup", "desk chair ergonomics organizer whiteboard", "home office"),
        ),
        _c(
            "outdoor living",
            _i("backyard landscaping", "lawn hedge paver shrub border", "landscaping"),
            _i("patio design", "patio pergola firepit lounger awning"),
            _i("beekeeping", "hive honey beeswax apiary swarm", "apiculture"),
            _i("backyard chickens", "coop hen egg rooster feed", "chicken keeping"),
            _i("garden ponds", "pond koi lily pump pebble"),
        ),
    ),
)

_GAMES = Domain(
    name="video games",
    item_noun="game",
    title_templates=(
        "{Noun} of {Noun2}",
        "{Adj} {Noun}",
        "{Noun} Legends",
        "The {Adj} {Noun}",
        "Super {Noun} World",
        "{Noun} Tactics",
        "{Noun}: {Adj} Edition",
        "Rise of the {Noun}",
        "{Noun} Simulator",
    ),
    adjectives=(
        "Dark",
        "Eternal",
        "Infinite",
        "Neon",
        "Lost",
        "Shattered",
        "Mighty",
        "Cursed",
        "Hidden",
        "Legendary",
        "Forgotten",
        "Iron",
        "Crimson",
        "Savage",
        "Brave",
        "Ancient",
        "Broken",
        "Final",
        "Turbo",
        "Cosmic",
    ),
    clusters=(
        _c(
            "role-playing games",
            _i("open world rpgs", "exploration loot sidequest npc horse", "open-world rpgs"),
            _i("jrpgs", "crystal summon airship hero party", "japanese rpgs"),
            _i("tactical rpgs", "grid squad tactics unit permadeath", "strategy rpgs", "srpgs"),
            _i("roguelikes", "dungeon procedural run relic seed", "roguelites"),
            _i("soulslikes", "bonfire boss parry stamina dodge", "souls-like games"),
            _i("mmorpgs", "guild raid realm avatar expansion", "mmos"),
        ),
        _c(
            "action games",
            _i(
                "first-person shooters",
                "loadout respawn sniper crosshair multiplayer",
                "fps games",
                "first person shooters",
            ),
            _i("battle royale games", "storm parachute circle lobby royale", "battle royales"),
            _i("fighting games", "combo uppercut roster fighter ring"),
            _i("platformers", "jump coin level plumber checkpoint", "platform games"),
            _i("metroidvanias", "backtracking upgrade castle doublejump labyrinth", "metroidvania"),
        ),
        _c(
            "strategy and simulation games",
            _i("real-time strategy", "base resources rush barracks minimap", "rts games"),
            _i("grand strategy", "diplomacy alliance province vassal treaty"),
            _i("city builders", "zoning traffic mayor district population", "city-building games"),
            _i("4x games", "explore expand exploit exterminate hexagon"),
            _i("farming sims", "crops tractor livestock orchard season", "farming simulators"),
            _i("flight simulators", "cockpit pilot runway airliner throttle", "flight sims"),
            _i("tower defense", "turret wave creep path maze", "tower defence"),
        ),
        _c(
            "casual and indie games",
            _i("puzzle games", "puzzle tile match riddle block"),
            _i("cozy games", "cottage villager critter furniture pastel", "wholesome games"),
            _i("visual novels", "dialogue route choice ending sprite"),
            _i("indie games", "pixel soundtrack debut developer prototype"),
            _i("rhythm games", "rhythm note timing drum song"),
            _i("point-and-click adventures", "inventory cursor hotspot pirate verb", "point and click adventures"),
        ),
        _c(
            "competitive and retro gaming",
            _i("esports", "league championship caster bracket sponsor", "e-sports"),
            _i("speedrunning", "speedrun glitch timer skip category"),
            _i("retro gaming", "cartridge console joystick handheld cabinet", "retro games"),
            _i("racing games", "drift lap kart podium supercar"),
            _i("sports video games", "franchise stadium commentary draft stats", "sports games"),
            _i("horror games", "flashlight asylum fog creature lockpick", "survival horror"),
            _i("survival games", "crafting hunger shelter wilderness raft", "survival crafting games"),
        ),
    ),
)

DOMAINS: tuple[Domain, ...] = (
    _MOVIES,
    _BOOKS,
    _MUSIC,
    _FOOD,
    _TRAVEL,
    _TECHNOLOGY,
    _SPORTS,
    _FASHION,
    _HOME,
    _GAMES,
)


def all_interests() -> list[tuple[str, str, Interest]]:
    """(domain name, cluster name, Interest) for every interest, in declaration order."""
    return [
        (domain.name, cluster.name, interest)
        for domain in DOMAINS
        for cluster in domain.clusters
        for interest in cluster.interests
    ]


# --------------------------------------------------------------------------
# Text templates
# --------------------------------------------------------------------------

#: Short review sentences; placeholders: {noun} (a domain's item_noun),
#: {keyword} and {interest}.  Mostly positive, a few lukewarm.
REVIEW_TEMPLATES: tuple[str, ...] = (
    "A wonderful {noun} for anyone into {interest}.",
    "If you like {interest}, this {noun} is a must.",
    "Great {noun}, especially everything about the {keyword}.",
    "Solid {interest} pick, I would recommend it to friends.",
    "Best {noun} I have found for {interest} so far.",
    "Exactly what I wanted: plenty of {keyword} and real {interest} spirit.",
    "Five stars, a real treat for {interest} fans.",
    "Bought it for the {keyword} and was not disappointed.",
    "Loved it, the {keyword} alone makes this {noun} worth it.",
    "Decent {noun}, though I expected more {keyword}.",
    "It was fine, not the best {interest} out there.",
    "Okay overall, but the {keyword} felt a bit thin.",
    "Good, not great. Fans of {interest} may enjoy it more than I did.",
)

#: Search-query templates; placeholders: {interest}, {keyword}, {noun}.
QUERY_TEMPLATES: tuple[str, ...] = (
    "best {interest}",
    "{keyword} {noun}",
    "{interest}",
    "top {interest} picks",
    "{keyword}",
    "{interest} recommendations",
    "new {interest}",
    "cheap {keyword} {noun}",
    "{interest} for beginners",
    "{keyword} {interest}",
    "popular {keyword} {noun}",
)

#: One-sentence item descriptions; placeholders: {noun}, {interest},
#: {interest2}, {keyword}, {keyword2}.
DESCRIPTION_TEMPLATES: tuple[str, ...] = (
    "A {noun} about {keyword} and {keyword2}, for fans of {interest} and {interest2}.",
    "A {noun} for fans of {interest}, featuring {keyword} and {keyword2}.",
    "Where {interest} meets {interest2}: a {noun} full of {keyword} and {keyword2}.",
    "This {noun} blends {interest} with a touch of {interest2}, centered on {keyword}.",
    "An inviting {noun} built around {keyword}, {keyword2} and everything {interest}.",
    "Perfect for {interest} lovers, this {noun} brings {keyword} and {keyword2} together.",
    "A fresh take on {interest}, with plenty of {keyword} and a hint of {interest2}.",
    "Everything {interest} fans want, from {keyword} to {keyword2}, in one {noun}.",
)
