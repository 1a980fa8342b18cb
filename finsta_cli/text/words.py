"""Word lists and dependency labels the rule parser reads (lowercase words unless named)."""

from __future__ import annotations

NUMBER_WORDS: dict[str, int] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "both": 2, "pair": 2, "couple": 2,
}  # fmt: skip
# Nouns that mean a place relative to another object ("in front of", "on the side of").
RELATIONAL_NOUNS = frozenset({
    "front", "top", "side", "back", "middle", "edge", "corner", "bottom", "center", "centre",
    "left", "right", "rear", "end", "part", "surface", "inside", "outside", "underside", "base",
    "tip", "face",
})  # fmt: skip
# Place nouns that FACTUAL leaves out when they stand alone: "windows on the front".
BARE_PLACE_NOUNS = frozenset({
    "front", "back", "left", "right", "top", "bottom", "side", "middle", "center", "centre",
    "rear",
})  # fmt: skip
SHADES = frozenset({
    "dark", "light", "bright", "pale", "deep", "navy", "pastel", "neon",
})  # fmt: skip
EXPLETIVES = frozenset({
    "this", "that", "these", "those", "there", "here", "it", "what", "which", "something",
})  # fmt: skip
# Modifiers that say how many or which, not what the object looks like: FACTUAL's "drop"
# decisions for these are followed; every other word it drops ("snowy hill") stays a scene word.
NON_SCENE_MODIFIERS = frozenset({
    "other", "same", "different", "several", "many", "few", "more", "most", "numerous",
    "multiple", "various", "entire", "whole", "single", "separate", "certain", "such", "own",
    "next", "last", "additional", "another", "each", "every", "both", "all", "some", "any",
})  # fmt: skip
# Indefinite people: FACTUAL names "someone" a person.
INDEFINITE_PEOPLE = frozenset({"someone", "somebody"})
SUBJECT_DEPS = frozenset({"nsubj", "csubj", "expl"})
OBJECT_DEPS = frozenset({"dobj", "obj", "dative", "oprd"})
# Adverbs that order clauses or negate rather than describe the action.
NON_MANNER_ADVERBS = frozenset({
    "then", "also", "too", "not", "n't", "there", "here", "when", "where", "while", "how", "why",
    "just", "now", "so", "as", "very",
})  # fmt: skip
PERSON_NOUNS = frozenset({
    "man", "woman", "boy", "girl", "person", "child", "kid", "guy", "lady", "gentleman", "player",
    "skier", "surfer", "skateboarder", "snowboarder", "rider", "worker", "chef", "cook", "officer",
    "policeman", "baby", "toddler", "teenager", "adult", "someone", "mother", "father", "son",
    "daughter", "brother", "sister", "husband", "wife", "friend", "people", "men", "women",
})  # fmt: skip
PERSON_PRONOUNS = {"he": "man", "him": "man", "she": "woman", "her": "woman"}
PATH_PREPOSITIONS = frozenset({
    "down", "across", "through", "along", "into", "onto", "toward", "towards", "to", "from",
    "up", "past", "around", "out", "off", "via",
})  # fmt: skip
# Words in front of a clause that put it after the clause before it ("A, then B", "A. Next, B").
SEQUENCERS = frozenset({
    "then", "afterwards", "afterward", "later", "next", "subsequently", "thereafter", "finally",
    "eventually",
})  # fmt: skip
# Conjunctions in front of a clause: how it relates to the clause it depends on.
SUBORDINATORS: dict[str, str] = {
    "after": "after", "once": "after", "before": "before", "until": "before", "till": "before",
    "while": "overlaps", "whilst": "overlaps", "as": "overlaps", "when": "overlaps",
    "meanwhile": "overlaps",
}  # fmt: skip
BEFORE_AFTER = ("after", "before")
# Dependents that open a verb's clause in front of it (its subject, auxiliaries, negation).
CLAUSE_OPENING_DEPS = frozenset({
    "nsubj", "nsubjpass", "csubj", "expl", "aux", "auxpass", "neg",
})  # fmt: skip
# Words that give a motion its direction: kept as pred_attr nodes of the verb whatever their tag
# ("moves right": the small model tags "right" as an adjective, "left" even as a verb).
DIRECTION_WORDS = frozenset({
    "left", "right", "up", "down", "away", "back", "forward", "forwards", "backward",
    "backwards", "upward", "upwards", "downward", "downwards", "leftward", "leftwards",
    "rightward", "rightwards", "sideways", "around",
})  # fmt: skip
# Basic colour terms: as a compound modifier ("cyan cone", "orange ball") they are attributes,
# not part of the name, unless the conventions decide otherwise for that word or pair.
COLOUR_WORDS = frozenset({
    "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white",
    "gray", "grey", "cyan", "magenta", "violet", "indigo", "turquoise", "teal", "maroon",
    "beige", "tan", "gold", "golden", "silver", "navy", "lime", "olive", "crimson",
})  # fmt: skip
# Prepositions that, right after a plural-looking noun, show it is a verb of motion
# ("the cube heads for the ball", "the ring leaves to the left").
MOTION_PREPOSITIONS = frozenset({
    "to", "toward", "towards", "from", "for", "into", "onto", "across", "through", "past",
    "behind", "away", "off", "out",
})  # fmt: skip
DIRECTION_SIDES = frozenset({"left", "right", "top", "bottom"})
# Prepositions that put a side after a verb of motion: "to the left", "exits on the right".
SIDE_PREPOSITIONS = frozenset({
    "to", "toward", "towards", "from", "on", "at", "into", "onto", "off",
})  # fmt: skip
# Of those, the ones that move a side phrase from a verb's object to the verb ("moves out of
# view to the right"); "on the left" after a noun stays with the noun ("a man on the left").
MOTION_SIDE_PREPOSITIONS = frozenset({"to", "toward", "towards", "into", "onto"})
CLAUSE_PREPOSITIONS = frozenset({"after", "before", "until", "while", "as", "since"})


OVERLAP_MARKERS = frozenset({"while", "as", "when", "during", "meanwhile"})
# What a thing has that a video caption talks about ("the features of a phone"): objects of
# their own, had by the noun after "of" (FACTUAL's default drops them).
ASPECT_NOUNS = frozenset({
    "features", "feature", "details", "specs", "specifications", "benefits", "rules", "steps",
    "price", "design", "engine", "performance", "functions",
})  # fmt: skip
# Tools: "with" one of them after a verb's object is the action's ("slices an onion with a
# knife"), except after verbs of having or showing ("holding a cup with a spoon").
INSTRUMENT_NOUNS = frozenset({
    "knife", "scissors", "spoon", "fork", "brush", "hammer", "stick", "bat", "racket", "racquet",
    "towel", "sponge", "pen", "pencil", "spatula", "saw", "needle", "tool", "tools", "hand",
    "hands", "finger", "fingers", "drill", "screwdriver", "whisk", "cloth", "rag", "camera",
    "chopsticks", "ladle", "tongs", "paddle", "club", "shovel", "axe", "sword", "rope", "foot",
    "feet", "mouth", "teeth", "marker", "crayon", "blade", "iron", "roller", "cutter", "peeler",
})  # fmt: skip
# Who one does something with ("a man playing frisbee with his dog": FACTUAL man play with dog).
COMPANION_NOUNS = PERSON_NOUNS | {
    "team",
    "friends",
    "family",
    "partner",
    "kids",
    "children",
    "dog",
    "others",
    "girlfriend",
    "boyfriend",
    "mom",
    "dad",
    "parents",
    "teammates",
    "opponent",
    "crowd",
    "group",
}
NON_INSTRUMENT_VERBS = frozenset({
    "hold", "carry", "have", "wear", "show", "see", "watch", "look", "stand", "sit", "fill",
    "decorate", "cover", "serve", "sell", "buy", "give", "bring", "display", "find", "meet",
})  # fmt: skip
# Places "by" names beside a passive ("interviewed by a beach", "parked by the river"), unless
# the verb is one places do ("surrounded by the sea").
BY_PLACES = frozenset({
    "beach", "river", "lake", "pool", "window", "door", "road", "sea", "ocean", "shore",
    "fireplace", "roadside", "street", "bridge",
})  # fmt: skip
PLACE_VERBS = frozenset({
    "surround", "cover", "border", "line", "block", "shade", "light", "fill", "frame", "flank",
    "wash", "reflect", "hide", "separate", "enclose",
})  # fmt: skip
# Nouns of what a video shows ("a video of a car", "footage of the storm", "the history of
# motion pictures"): an object of their own, related to what they show by "of", when FACTUAL's
# train split has no reading of "X of Y" for them (its default drops X).
MEDIA_NOUNS = frozenset({
    "video", "videos", "footage", "clip", "clips", "picture", "pictures", "photo", "photos",
    "photograph", "photographs", "compilation", "montage", "slideshow", "trailer", "documentary",
    "history", "recording", "film", "films", "movie", "movies", "series", "story", "review",
    "demonstration", "tutorial", "interview", "highlights", "commercial", "advertisement",
    "segment", "report", "presentation", "animation", "cartoon", "song", "music", "episode",
    "news", "mashup", "medley", "collage", "gameplay",
})  # fmt: skip


ARGUMENT_DEPS = frozenset({"nsubj", "nsubjpass", "dobj", "pobj", "attr", "conj", "appos"})
NOUN_MODIFIER_DEPS = frozenset({"det", "amod", "compound", "nummod", "poss", "predet"})


# Prepositions after which an -ing word in front of a noun is an action on it ("talks about
# cooking pasta"), not a kind of the noun ("on cutting board", "in swimming pool").
ACTION_PREPOSITIONS = frozenset({"about", "after", "before", "without", "by", "while"})


# Nouns of a video or picture, and what they can do: "a movie clip showing ..." shows, but in
# "a scene with soldiers marching" the soldiers march.
SHOWING_NOUNS = MEDIA_NOUNS | {"scene", "screen", "image", "images", "shot", "view"}
FINITE_TAGS = frozenset({"VBZ", "VBP", "VBD"})
# Nouns an -ing word in front of names a kind of ("swimming pool", "cooking show"): the -ing
# word there is no action of the caption.
GERUND_MODIFIED_NOUNS = frozenset({
    "pool", "show", "match", "lot", "board", "class", "lesson", "competition", "contest",
    "event", "events", "game", "session", "room", "area", "suit", "machine", "pot", "pan",
    "equipment", "gear", "table", "ring", "video", "channel", "program", "tutorial",
    "demonstration", "station", "track", "field", "court", "shoes", "boots", "scene", "clip",
    "device", "recipe", "meet", "team", "stick", "utensils", "bag", "spot", "trip", "tour",
})  # fmt: skip
# Words that make one action with the -ing word after them ("arm wrestling", "ice skating").
INCORPORATED_OBJECTS = frozenset({
    "arm", "ice", "rock", "sky", "snow", "water", "finger", "face", "body", "kite", "wind",
    "roller", "speed", "figure", "tap", "break", "belly", "pole", "bungee", "scuba",
    "horse", "sword", "video", "bull", "cliff", "street", "mountain", "barrel", "fly",
    "ballroom", "salsa", "hula", "jet", "wake", "weight", "power", "fist", "pillow", "swing",
})  # fmt: skip
