"""Danger is judged the same in every language: one situation, said in English, Nigerian Pidgin,
Arabic script, Arabizi, French and Hausa, gets one level from the detector (nlu/danger.py).

The sentences are written for this test (not taken from the evaluation set or the dev set):
emergencies, urgent disclosures and hard negatives that only look like danger.
"""

from __future__ import annotations

import pytest

from nlu.danger import default_detector

LANGUAGES = ("en", "pcm", "ar", "ar_latn", "fr", "ha")

# (label, kind, {language: sentence})
PARALLEL: list[tuple[str, str, dict[str, str]]] = [
    (
        "emergency",
        "beaten_in_detention",
        {
            "en": "they are beating us in the detention centre, help",
            "pcm": "dem dey beat us for inside detention centre, abeg help",
            "ar": "قاعدين يضربوا فينا في مركز الاحتجاز، ساعدونا",
            "ar_latn": "9a3din ydarbou fina fel markaz e7tijaz, 3awnouna",
            "fr": "ils nous frappent dans le centre de détention, aidez-nous",
            "ha": "suna dukan mu a sansanin tsare, ku taimaka mana",
        },
    ),
    (
        "emergency",
        "stabbed_bleeding",
        {
            "en": "a man stabbed my friend and he is bleeding a lot",
            "pcm": "one man stab my padi with knife, blood dey comot well well",
            "ar": "واحد طعن صاحبي بسكين وهو ينزف برشا",
            "ar_latn": "wa7ed ta3an sa7bi b sekkina w howa yenzef barcha",
            "fr": "un homme a poignardé mon ami et il saigne beaucoup",
            "ha": "wani mutum ya caka wa abokina wuka kuma yana zubar da jini sosai",
        },
    ),
    (
        "emergency",
        "fire_people_inside",
        {
            "en": "our room is burning and two people are still inside",
            "pcm": "fire dey burn our room and two people still dey inside",
            "ar": "الدار شاعلة فيها النار وزوز لسه جوه",
            "ar_latn": "el dar cha3la fiha el nar w zouz mazalou dakhel",
            "fr": "notre chambre brûle et deux personnes sont encore dedans",
            "ha": "dakinmu yana cin wuta kuma mutane biyu suna ciki har yanzu",
        },
    ),
    (
        "emergency",
        "boat_taking_water",
        {
            "en": "our boat is taking water, we are in the middle of the sea",
            "pcm": "water dey enter our boat, we dey for middle of sea",
            "ar": "المركب يدخل فيه الماء واحنا في وسط البحر",
            "ar_latn": "el flouka tedkhol fiha el ma w e7na fi west el b7ar",
            "fr": "notre bateau prend l'eau, on est au milieu de la mer",
            "ha": "ruwa yana shiga jirgin ruwanmu, muna tsakiyar teku",
        },
    ),
    (
        "emergency",
        "bleeding_after_birth",
        {
            "en": "a woman gave birth in our house and the blood will not stop",
            "pcm": "one woman just born for our house and blood no gree stop",
            "ar": "مرا ولدت في الحوش والدم ما وقفش",
            "ar_latn": "mra weldet fel 7ouch w el dam ma wa9efch",
            "fr": "une femme a accouché chez nous et le sang ne s'arrête pas",
            "ha": "wata mace ta haihu a gidanmu kuma jini ya ki tsayawa",
        },
    ),
    (
        "emergency",
        "suicide_third_person",
        {
            "en": "my friend says he will kill himself tonight",
            "pcm": "my padi talk say e go kill imself tonight",
            "ar": "صاحبي قال بيقتل روحه الليلة",
            "ar_latn": "sa7bi 9al bech y9atel rou7o el lila",
            "fr": "mon ami dit qu'il va se tuer ce soir",
            "ha": "abokina yace zai kashe kansa yau da dare",
        },
    ),
    (
        "emergency",
        "fell_not_breathing",
        {
            "en": "my brother fell down and he is not breathing",
            "pcm": "my brother fall down and e no dey breathe",
            "ar": "خوي طاح وما يتنفسش",
            "ar_latn": "khouya ta7 w ma yetnaffesh",
            "fr": "mon frère est tombé et il ne respire plus",
            "ha": "dan uwana ya fadi kuma baya numfashi",
        },
    ),
    (
        "emergency",
        "abduction_now",
        {
            "en": "armed men are kidnapping my sister right now",
            "pcm": "men wey carry gun dey kidnap my sister now now",
            "ar": "رجال مسلحين قاعدين يخطفوا في اختي توا",
            "ar_latn": "rjal msal7in 9a3din y5atfo fi o5ti tawa",
            "fr": "des hommes armés enlèvent ma soeur en ce moment",
            "ha": "yan bindiga suna sace yar uwata yanzu",
        },
    ),
    (
        "urgent",
        "raid_men_taken",
        {
            "en": "the police took all the men at night, we do not know where they are",
            "pcm": "police carry all the men for night, we no know where dem dey",
            "ar": "الشرطة خذوا كل الرجالة في الليل وما نعرفوش وين حطوهم",
            "ar_latn": "el shorta 5dhaw kol erjel fel lil w ma na3rfoush win 7attouhom",
            "fr": "la police a pris tous les hommes la nuit, on ne sait pas où ils sont",
            "ha": "yan sanda sun kwashe duk mazaje da dare, ba mu san inda suke ba",
        },
    ),
    (
        "urgent",
        "girls_forced_night_work",
        {
            "en": "a man forces young girls to work at night and keeps their passports",
            "pcm": "one man dey force small girls work for night, e hold their passport",
            "ar": "بنات صغار يشغلوهن بالليل بالغصب وخذوا جوازاتهن",
            "ar_latn": "bnat sghar y5admouhen bel lil bessif w 5dhaw jawazathom",
            "fr": "un homme force des jeunes filles à travailler la nuit et garde leurs passeports",
            "ha": "wani mutum yana tilasta wa yan mata aiki da dare kuma yana rike da fasfo dinsu",
        },
    ),
    (
        "urgent",
        "ransom",
        {
            "en": "the smuggler is holding my brother and wants money to release him",
            "pcm": "the connection man hold my brother, e dey ask money before e release am",
            "ar": "المهرب حابس خوي وطالب فدية باش يطلقه",
            "ar_latn": "el mohareb 7abes khouya w ytalbou flous men ahalna bech ytal9ouh",
            "fr": "le passeur retient mon frère et demande de l'argent pour le libérer",
            "ha": "mai safara yana rike da dan uwana yana neman kudi kafin ya sake shi",
        },
    ),
    (
        "urgent",
        "sexual_violence_past",
        {
            "en": "two months ago a guard raped me, I never told anyone",
            "pcm": "two months ago one guard rape me, i never tell anybody",
            "ar": "من شهرين حارس اغتصبني وما قلت لحد",
            "ar_latn": "men chahrin 7aras ightasabni w ma 9oltech l 7atta 7ad",
            "fr": "il y a deux mois un gardien m'a violée, je ne l'ai jamais dit à personne",
            "ha": "wata biyu da suka wuce wani mai gadi ya yi min fyade, ban taba fada wa kowa ba",
        },
    ),
    (
        "none",
        "burn_cooking_fine",
        {
            "en": "I burned my hand cooking, it is fine now",
            "pcm": "i burn my hand as i dey cook, e don better now",
            "ar": "حرقت يدي وانا نطيب، توا لاباس",
            "ar_latn": "7ra9t yeddi w ana nteyeb, tawa labes",
            "fr": "je me suis brûlé la main en cuisinant, ça va maintenant",
            "ha": "na kone hannuna wajen girki, yanzu lafiya",
        },
    ),
    (
        "none",
        "news_far",
        {
            "en": "I heard on the news that a boat sank far from here",
            "pcm": "i hear for news say one boat sink for far place",
            "ar": "سمعت في الاخبار ان فلوكة غرقت بعيد",
            "ar_latn": "sme3t fel a5bar elli flouka ghar9et b3id",
            "fr": "j'ai entendu aux infos qu'un bateau a coulé loin d'ici",
            "ha": "na ji a labarai cewa wani jirgin ruwa ya nutse can nesa",
        },
    ),
    (
        "none",
        "released_long_ago",
        {
            "en": "I was in prison two years ago, now I am free and want to go home",
            "pcm": "i been dey prison two years ago, now i don free, i wan go home",
            "ar": "كنت في السجن قبل سنتين، توا طلعت ونبي نروح لبلادي",
            "ar_latn": "kont fel 7abs men sanatin, tawa ana fi aman w nebi nrou7 lbladi",
            "fr": "j'étais en prison il y a deux ans, maintenant je suis libre et je veux rentrer",
            "ha": "ina gidan yari shekaru biyu da suka wuce, yanzu na samu yanci, ina so in koma",
        },
    ),
]


def test_the_parallel_set_is_complete() -> None:
    assert len(PARALLEL) >= 12
    assert sum(label == "none" for label, _, _ in PARALLEL) >= 3
    for _, kind, sentences in PARALLEL:
        assert set(sentences) == set(LANGUAGES), kind


@pytest.mark.parametrize(("label", "kind", "sentences"), PARALLEL, ids=[k for _, k, _ in PARALLEL])
def test_one_situation_one_level_in_every_language(
    label: str, kind: str, sentences: dict[str, str]
) -> None:
    detector = default_detector()
    levels = {language: detector.detect(text).level for language, text in sentences.items()}
    assert set(levels.values()) == {label}, (kind, levels)
