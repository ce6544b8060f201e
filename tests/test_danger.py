"""The danger detector (nlu/danger.py) alone: every language and variant, typos, glued words,
hard negatives, and the same level for the same sentence everywhere."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.sessions import ConversationState
from flows import build_flows
from flows.base import Contact, Turn
from flows.safety import Triage
from nlu.danger import (
    EMERGENCY_KINDS,
    URGENT_KINDS,
    DangerDetector,
    Detection,
    default_detector,
    skeleton,
)
from nlu.types import ParseResult

DEV_FILE = Path(__file__).resolve().parent.parent / "nlu" / "data" / "danger" / "dev.yml"
VARIANTS = ("en", "pcm", "ar_ly", "ar_sd", "ar_eg", "ar_latn", "fr", "ha")


def detect(text: str) -> Detection:
    return default_detector().detect(text)


# (text, level, category) — written for these tests, apart from the dev set
EMERGENCIES = [
    # English and Pidgin
    ("my brother is bleeding from his head and he can't breathe", "bleeding"),
    ("dem don stab am for road, e no dey talk again", "stabbing"),
    ("fire don catch the warehouse where we dey sleep, people still dey inside", "fire"),
    ("the boat is capsizing, there are women in the water", "drowning"),
    ("men with guns took my son into a car just now", "abduction"),
    ("my sister is in labour and the baby is stuck", "childbirth"),
    ("he collapsed on the floor and he is unconscious", "collapse"),
    ("they are shooting at the camp", "shooting"),
    ("gas cylinder burst for the compound, people wound", "explosion"),
    # Arabic script: Libyan, Sudanese, Egyptian
    ("فيه ضرب نار قدام الحوش والناس تجري", "shooting"),
    ("انفجار غاز والحوش شاعل والناس محبوسين جوه", "fire"),
    ("زول طعنوه بالسكين وبينزف", "stabbing"),
    ("المركب بيغرق والعيال معانا", "drowning"),
    ("مراتي ولدت في البيت والنزيف مش راضي يوقف", "childbirth"),
    # Arabizi
    ("sa7bi ta3nouh w yenzef barcha", "stabbing"),
    ("el 7ouch cha3el w fih nas jouwa", "fire"),
    ("khatfou 5ouya tawa 9odam el jem3", "abduction"),
    # French
    ("ils tirent sur nous, il y a des blessés", "shooting"),
    ("mon ami s'est évanoui et ne respire plus", "collapse"),
    ("le bateau chavire, aidez-nous", "drowning"),
    # Hausa
    ("an harbe shi kuma yana zubar da jini", "shooting"),
    ("gobara ta tashi a gidan da muke kwana", "fire"),
    ("jirgin ruwa yana nutsewa, ruwa yana shiga", "drowning"),
]


@pytest.mark.parametrize(("text", "kind"), EMERGENCIES)
def test_immediate_danger_is_an_emergency(text: str, kind: str) -> None:
    found = detect(text)
    assert (found.level, found.certainty) == ("emergency", "sure"), (text, found)
    assert found.category == kind, (text, found)


URGENT = [
    ("the police arrested my husband yesterday, where do they keep him", "detention"),
    ("police came at night and took all the men, where did they take them", "detention"),
    ("الشرطة جت بالليل وخدوا كل الرجالة، وين خدوهم", "detention"),
    ("5ouya m7bous fi Ganfouda", "detention"),
    ("mon mari est en prison à Zawiya", "detention"),
    ("an kama mijina, yana gidan yari", "detention"),
    ("a broker is holding four girls in a house, forcing them to work at night", "trafficking"),
    ("samsar 7ajez arba3 bnat fi 7ouch w y5admouhom bessif bel lil", "trafficking"),
    ("mon patron garde mon passeport et ne me paie pas", "trafficking"),
    ("sun sayar da mu ga wani mutum", "trafficking"),
    # sexual violence, also long past: a disclosure is urgent whatever its date
    ("the driver raped me on the way from Sudan two months ago, I never told anyone", "gbv"),
    ("el sawa9 ightasbni fel tri9 9bal chahrin w ma 9olt l7ad", "gbv"),
    ("السواق اغتصبني في الطريق قبل شهرين", "gbv"),
    ("un homme m'a violée l'année dernière", "gbv"),
    ("an yi min fyade a hanya", "gbv"),
    ("some men dey threaten me say dem go find me", "threat"),
]


@pytest.mark.parametrize(("text", "kind"), URGENT)
def test_disclosures_are_urgent(text: str, kind: str) -> None:
    found = detect(text)
    assert (found.level, found.category, found.certainty) == ("urgent", kind, "sure"), found


@pytest.mark.parametrize(
    "text",
    [
        "gaa3din yadurbu fina fi markaz el e7tijaz, sa3dona",
        "they are beating us in the detention centre, help",
        "قاعدين يضربوا فينا في مركز الاحتجاز، ساعدونا",
        "ils nous frappent dans le centre de détention, aidez-nous",
        "suna dukanmu a cibiyar tsare, ku taimaka mana",
    ],
)
def test_ongoing_violence_in_detention_is_an_emergency_everywhere(text: str) -> None:
    found = detect(text)
    assert (found.level, found.category) == ("emergency", "beating"), found


@pytest.mark.parametrize(
    "text",
    [
        "انفجار غاز والناس محبوسين في الحوش",  # trapped, not detained
        "fire in the house and people are trapped inside",
        "il y a le feu et des gens sont coincés dedans",
    ],
)
def test_immediate_danger_outranks_detention(text: str) -> None:
    assert detect(text).level == "emergency"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("my freind is bleedin alot", "bleeding"),  # typos
        ("they stabed him", "stabbing"),
        ("he is unconcious", "collapse"),
        ("kidnaped my son", "abduction"),
        ("theyarebeatingus please", "beating"),  # glued words
        ("ihtijaz w ydarbouna tawa", "beating"),  # Arabizi spellings
        ("el markeb yaghra9 tawa", "drowning"),
        ("والمركب يغرق", "drowning"),  # an Arabic prefix glued on
        ("ILS TIRENT!!!", "shooting"),
    ],
)
def test_typos_spellings_and_glued_words(text: str, kind: str) -> None:
    found = detect(text)
    assert (found.level, found.category) == ("emergency", kind), (text, found)


HARD_NEGATIVES = [
    "I was detained in 2019 but they released me, now I want to go home",
    "kont m7bous 9bal sna, tawa nbi nsajel",
    "كنت في السجن من سنين، توا نبي نرجع بلادي",
    "j'étais en prison il y a deux ans, maintenant je veux rentrer",
    "an tsare ni shekaru biyu da suka wuce, yanzu ina lafiya",
    "I saw on the news that a boat sank near Zuwara",
    "شفت في الاخبار ان فيه حريق في مصر",
    "j'ai vu aux infos qu'un bateau a coulé",
    "na ji a labarai cewa an yi gobara a Kano",
    "we were attacked on the road last month but we are safe now",
    "I am safe now, thank you",
    "they fired me from my job",
    "my boss fired me yesterday, I need work",
    "I work as a welder and I cook on a fire",
    "where is the police station for my papers",
    "fin markaz el chorta 3la jal el wra9",
    "où est le commissariat pour mes papiers",
    "ina ofishin yan sanda domin takardu na",
    "how do I register to go home",
    "I need a blood test at the clinic",
    "what should I do if the boat sinks",
    "bghina nrej3o l bled",
    "me na Blessing, i dey stay for Benghazi",
    "arrêtez les messages svp",
    "tabbas haka ne",
    "they are eating rice",
    "my belle dey pain me small",
    "on travaille à Ghadames depuis 6 mois",
]


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_hard_negatives_are_not_danger(text: str) -> None:
    found = detect(text)
    assert found.level == "none", (text, found)


@pytest.mark.parametrize(
    "text",
    [
        "there is fire",
        "we are in danger",
        "نحنا في خطر",
        "nous sommes en danger",
        "muna cikin hatsari",
        "there is blood on the floor",
        "yesterday they stabbed my friend",  # recent: is it still going on?
    ],
)
def test_weak_signs_ask_instead_of_guessing(text: str) -> None:
    found = detect(text)
    assert (found.level, found.certainty) == ("emergency", "unsure"), (text, found)


def test_self_harm_is_an_emergency_of_its_own() -> None:
    for text in ("I want to kill myself", "nbi n9atel rou7i", "je veux me suicider"):
        found = detect(text)
        assert (found.level, found.category, found.certainty) == (
            "emergency",
            "self_harm",
            "sure",
        )


def test_categories_are_the_documented_ones() -> None:
    for text, _ in [*EMERGENCIES, *URGENT]:
        found = detect(text)
        assert found.category in (*EMERGENCY_KINDS, *URGENT_KINDS)


def test_arabizi_skeletons() -> None:
    assert skeleton("e7tijaz") == skeleton("ihtijaz") == skeleton("ehtijaz") == "htjz"
    assert skeleton("5atfouni") == skeleton("khatfouni")


def _dev_items() -> list[dict[str, str]]:
    return list(yaml.safe_load(DEV_FILE.read_text(encoding="utf-8")))


def _level(found: Detection) -> str:
    return found.level  # "unsure" emergencies ask, which is still the emergency level


@pytest.mark.parametrize("item", _dev_items(), ids=lambda item: f"{item['label']}-{item['kind']}")
def test_the_same_sentence_gets_the_same_level_in_every_variant(item: dict[str, str]) -> None:
    """The parallel dev set: one sentence in every variant, one level, the labelled one."""
    assert set(VARIANTS) <= set(item), item
    levels = {variant: _level(detect(item[variant])) for variant in VARIANTS}
    assert set(levels.values()) == {item["label"]}, levels


def _classified_emergency(text: str, flow: str | None, step: str | None) -> Turn:
    """A turn whose classifier says `emergency` (0.95) whatever the words."""
    state = ConversationState(language="en")
    state.enter(flow, step)
    parse = ParseResult(text, "en", 1.0, "Latn", "emergency", 0.95)
    return Turn(Contact(1, "rest", "someone", "migrant"), state, text, parse, "en", ("en",))


def test_an_answer_to_an_open_question_needs_a_danger_word_to_interrupt() -> None:
    """The classifier learned that emergencies name where people are: an address given at
    "where are you held?" is the answer, unless the detector finds a danger word in it too.
    At the menu the classifier alone still asks "are you in danger right now?"."""
    triage = Triage.load(build_flows())
    address = "near the market in Gargaresh"
    answering = _classified_emergency(address, "registration", "detention_place")
    assert triage.assess(answering) is None and not answering.danger_check
    at_menu = _classified_emergency(address, None, None)
    assert triage.assess(at_menu) is None and at_menu.danger_check
    with_blood = _classified_emergency(
        address + ", blood everywhere", "registration", "detention_place"
    )
    triage.assess(with_blood)
    assert with_blood.danger_check or with_blood.danger == "emergency"


def _scored(
    text: str,
    flow: str | None = None,
    step: str | None = None,
    *,
    emergency: float = 0.0,
    urgent: float = 0.0,
    known_share: float = 1.0,
    intent: str = "inform",
    confidence: float = 0.9,
) -> Turn:
    """A turn whose intent is ordinary and whose danger classifier says what is given."""
    state = ConversationState(language="en")
    state.enter(flow, step)
    parse = ParseResult(
        text,
        "en",
        1.0,
        "Latn",
        intent,
        confidence,
        danger_emergency=emergency,
        danger_urgent=urgent,
        known_share=known_share,
    )
    return Turn(Contact(1, "rest", "someone", "migrant"), state, text, parse, "en", ("en",))


# Words no lexicon of the detector has (checked below): only the danger classifier can tell.
UNKNOWN_TO_THE_DETECTOR = "please come quickly, my cousin's face is going grey and cold"


def test_the_danger_classifier_asks_where_the_detector_has_no_words() -> None:
    triage = Triage.load(build_flows())
    assert detect(UNKNOWN_TO_THE_DETECTOR).level == "none"
    quiet = _scored(UNKNOWN_TO_THE_DETECTOR, emergency=0.2)
    assert triage.assess(quiet) is None and not quiet.danger_check
    sure = _scored(UNKNOWN_TO_THE_DETECTOR, emergency=0.9)
    assert triage.assess(sure) is None and sure.danger_check  # asks, never opens alone
    below = _scored(UNKNOWN_TO_THE_DETECTOR, emergency=0.6, urgent=0.3)
    assert triage.assess(below) is None and not below.danger_check


def test_the_danger_classifier_opens_an_urgent_case_it_is_sure_of() -> None:
    triage = Triage.load(build_flows())
    text = "the owner of the house says we must sleep with him or leave"
    assert detect(text).level == "none"
    assert triage.assess(_scored(text, urgent=0.9)) == "protection"
    assert triage.assess(_scored(text, urgent=0.9, intent="detention")) == "detention"
    assert triage.assess(_scored(text, urgent=0.5)) is None
    assert triage.assess(_scored(text, urgent=0.6)) == "protection"  # sure enough from 0.6


def test_the_classifiers_alone_ignore_messages_of_unknown_words() -> None:
    """Keys pressed at random look like nothing the classifiers learnt from: neither the
    intent nor the danger classifier may ask or open a case on them."""
    triage = Triage.load(build_flows())
    keys = "oalfdufw wtmfnvh qbblodos"
    for turn in (
        _scored(keys, emergency=0.95, known_share=0.0),
        _scored(keys, urgent=0.95, known_share=0.2),
        _scored(keys, intent="emergency", known_share=0.0),
        _scored(keys, intent="protection", known_share=0.0),
    ):
        assert triage.assess(turn) is None and not turn.danger_check
    # the same scores on known words count
    assert triage.assess(_scored(keys, intent="protection", known_share=0.5)) == "protection"


def test_the_danger_classifier_does_not_interrupt_an_answer_without_a_danger_word() -> None:
    triage = Triage.load(build_flows())
    answer = _scored(
        "near the market in Gargaresh",
        "registration",
        "detention_place",
        emergency=0.95,
        urgent=0.0,
    )
    assert triage.assess(answer) is None and not answer.danger_check


def test_a_story_that_is_over_is_not_taken_from_the_danger_classifier() -> None:
    triage = Triage.load(build_flows())
    over = "two years ago they beat us in the prison, but now I am safe and working"
    assert detect(over).hard_negative
    turn = _scored(over, emergency=0.95, urgent=0.95)
    assert triage.assess(turn) is None and not turn.danger_check


def test_the_emergency_intent_alone_asks_only_if_the_danger_classifier_agrees() -> None:
    """The intent classifier learnt from emergencies that a sick person may be one; the danger
    classifier, which learnt the hard negatives too, may read the message as plainly none."""
    triage = Triage.load(build_flows())
    sick = "my neighbour is very sick since yesterday, what can I do"
    found = detect(sick)
    assert found.level == "none" and not found.everyday and not found.hard_negative
    plainly_none = _scored(sick, intent="emergency", emergency=0.05, urgent=0.05)
    assert triage.assess(plainly_none) is None and not plainly_none.danger_check
    doubtful = _scored(sick, intent="emergency", emergency=0.25, urgent=0.1)
    assert triage.assess(doubtful) is None and doubtful.danger_check
    # no danger classifier (a Rasa-only parse, a small model): the intent alone still asks
    alone = _classified_emergency(sick, None, None)
    assert triage.assess(alone) is None and alone.danger_check


def test_both_classifiers_leaning_urgent_open_the_case() -> None:
    """Neither is sure alone (danger classifier 0.55, below 0.6), but both lean the same way."""
    triage = Triage.load(build_flows())
    # Banglish: the police loaded the boys into a car, in a wording the detector has no terms
    # for ("uthiye nilo", which it now reads, was the message before)
    raid = "police ashe shob chele der gari te bhore nilo"
    assert detect(raid).level == "none"
    both = _scored(raid, urgent=0.55, intent="detention", confidence=0.6)
    assert triage.assess(both) == "detention"
    assert triage.assess(_scored(raid, urgent=0.55, intent="inform")) is None
    assert triage.assess(_scored(raid, urgent=0.4, intent="detention", confidence=0.6)) is None
    assert triage.assess(_scored(raid, urgent=0.55, intent="detention", confidence=0.4)) is None


def test_a_geez_stem_matches_with_its_last_letter_in_any_order_beside_another_stem() -> None:
    """Amharic writes a stem's last consonant with the vowel its ending needs (ወሰደ*, ወሰድ*):
    both stems match "ወሰደቻቸው" even when one of them is the word's plain beginning."""
    detector = DangerDetector({"abduction": {"am": ["ወሰደ*"]}, "took_person": {"am": ["ወሰድ*"]}})
    assert {"s:ወሰደ", "s:ወሰድ"} <= detector.patterns("ወሰደቻቸው")


# -- the blind5 rules (nlu/danger.py _habits_harms_and_hearsay) ------------------------------


@pytest.mark.parametrize(
    ("text", "level"),
    [
        # violence that repeats goes on: a past word at the story's start does not end it ...
        ("since last year they beat us every night", "urgent"),
        ("ils nous frappent chaque nuit depuis l'année dernière", "emergency"),
        ("الضرب كل يوم في السجن", "urgent"),
        ("dem dey beat us every night for this prison", "emergency"),
        # ... but a past word as near as the habit does ("used to ... every day")
        ("my uncle used to beat me every day when i was small, now i am 30", "none"),
    ],
)
def test_habitual_violence_goes_on(text: str, level: str) -> None:
    assert detect(text).level == level, (text, detect(text))


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("they beat me last year and i still cannot walk well", "urgent"),
        ("ils m'ont tabassé l'année dernière, j'ai encore des cicatrices sur le dos", "urgent"),
        ("عندي آثار الضرب لحد الآن", "urgent"),
        ("tun da suka doke ni a kurkuku har yanzu ba na iya tafiya da kyau", "urgent"),
        ("men nhar dharbouni fel 7abs mana9darch nemchi mli7", "urgent"),
        ("i am still bleeding since they beat me", "emergency"),
        # the harm lasts, and the person says they are safe: over
        ("they beat me last year, i still have scars but i am safe now", "none"),
        # a lasting pain with no violence is no case
        ("since the accident in 2020 my back still pains me", "none"),
    ],
)
def test_harm_that_lasts_after_violence_is_a_case(text: str, level: str) -> None:
    assert detect(text).level == level, (text, detect(text))


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("they kidnapped me 2 months ago, now i am back home in niger, i want my papers", "none"),
        ("ils m'ont kidnappé il y a deux mois, maintenant je suis rentré au Niger", "none"),
        ("an sace ni watanni biyu da suka wuce, yanzu na dawo gida Niger", "none"),
        ("خطفوني قبل شهرين ورجعت لبلادي", "none"),
        ("5tfouni l3am elli fat w 7amdoullah rja3t lbladi, nheb chhada", "none"),
        # not said to be over: as before, a case
        ("they kidnapped me two months ago", "urgent"),
        # back home, and the violence goes on there
        ("i am back home in nigeria since last year and my husband beats me every day", "urgent"),
    ],
)
def test_back_home_after_a_past_danger_is_over(text: str, level: str) -> None:
    assert detect(text).level == level, (text, detect(text))


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("they say in tripoli people are being arrested", "none"),
        ("on dit qu'à Sabha la police arrête tous les noirs", "none"),
        ("ana cewa a Tripoli yan sanda suna kama bakaken fata", "none"),
        ("يقولوا في سبها الشرطة تقبض على السود في الطريق", "none"),
        ("dem say for tripoli police dey catch people for road", "none"),
        # the person's family in the news: theirs
        ("I saw on facebook they arrest people in gargaresh and they took my brother", "urgent"),
        ("j'ai vu sur facebook qu'ils ont arrêté mon frère à Gargaresh hier", "urgent"),
        ("na gani a facebook an kama dan uwana a Zuwara jiya", "urgent"),
        ("شفت في الفيسبوك انهم قبضوا على خوي في قرقارش", "urgent"),
        # a relative in the news and said to be fine: no case
        ("the news said there was an explosion in tripoli, i called my mother she is fine", "none"),
        # the person or a relative in the message: not hearsay about others
        ("my brother is in sabha, they say the police arrest people there", "urgent"),
        ("people say the police are arresting black people in our area", "urgent"),
        # "they say" of a threat to the person is no hearsay
        ("they say if i don't pay they will kill me", "urgent"),
        ("i dey work every day no pay, dem say i must finish my debt before i go", "urgent"),
    ],
)
def test_hearsay_is_news_unless_the_person_or_family_is_in_it(text: str, level: str) -> None:
    assert detect(text).level == level, (text, detect(text))


@pytest.mark.parametrize(
    "text",
    [
        "on tv they said a boat sank near zuwara, my brother left from zuwara yesterday",
    ],
)
def test_the_news_with_family_named_apart_asks(text: str) -> None:
    found = detect(text)
    assert (found.level, found.certainty) == ("emergency", "unsure"), found


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("if you don't pay we will kill you", "urgent"),
        ("if you no pay dem go sell you", "urgent"),
        ("si tu ne paies pas ils vont te vendre", "urgent"),
        ("ils m'ont dit si tu parles on va te tuer", "urgent"),
        ("idan baka biya ba za a sayar da kai", "urgent"),
        ("sun ce idan ka gudu za mu kashe ka", "urgent"),
        ("المهرب قال اذا ما دفعتش نبيعوك", "urgent"),
        ("قالولي لو تتكلم نقتلوك", "urgent"),
        ("el mouhareb 9al ila ma khalastich nbi3ouk", "urgent"),
        # selling a thing, an idiom, a joke: no threat
        ("if you want i will sell you my phone", "none"),
        ("si tu veux je peux te vendre mon vieux téléphone", "none"),
        ("this heat will kill you", "none"),
        ("my brother says he will kill you if you eat his food lol", "none"),
    ],
)
def test_threats_said_to_you_are_urgent(text: str, level: str) -> None:
    assert detect(text).level == level, (text, detect(text))
