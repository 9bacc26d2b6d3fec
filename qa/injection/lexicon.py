"""The few words of answering in other languages, and a guess at a text's language: pure functions, no I/O.

An order to the answering model can be written in any language. Rather than a list of foreign phrasings, each
language here has a handful of words (French, German, Spanish, Italian, Portuguese, Dutch, Swedish, Polish,
Turkish, Indonesian, Russian, Ukrainian, Chinese):

- `verbs`: the imperative of answering (answer, reply, say, write, cite, mention, name, repeat, ignore, forget),
  in forms that are rarely anything else (the polite or plural imperative; a form that is also the ordinary
  third person, like Spanish "responde", is left out);
- `asked`, `agents`, `answers`: what such an order is about: the question or being asked, the answering model,
  the answer or summary; `modals`: "must", "should";
- `also`: other forms of answering (the infinitive), read only in a sentence in another language than its text.

A sentence orders something about the answer, in a language, when it holds one of its answering verbs and one of
its words of what it is about ("répondez ... question", "Beantworte jede Frage"), the answering model and a modal
("l'assistant doit ..."), or the answer and a modal ("toute réponse doit ...", "jede Antwort muss ..."). Chinese
is read by characters: an imperative marker (请, 务必, 只 ...) just before an answering verb, in a sentence about a
question, the answer or the model.

`guess_language` tells the script (Cyrillic, Chinese) or counts common short words (Latin scripts); it says
nothing when unsure. `speaks_of_answering` is for a sentence in another language than the text around it.

False-positive risks: a document written in one of these languages that quotes an order to answer ("« Répondez
à la question ! », a lancé le député"), an exam or a form ("Répondez aux questions suivantes"), a first person
that is spelled like an imperative (German "ich antworte"), or a text about an answer that must be given ("Die
Antwort muss im JSON-Format sein"). The sentence is then kept out of the evidence: the service may refuse more,
never show something false.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

_WORD = re.compile(r"[^\W\d_]+")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-zÀ-ÿ]")


@dataclass(frozen=True)
class Lexicon:
    verbs: frozenset[str]  # answering verbs in the imperative (a phrase: its words in a row)
    asked: frozenset[str]  # the question, being asked
    agents: frozenset[str]  # the answering model
    answers: frozenset[str]  # the answer, the summary
    modals: frozenset[str]  # must, should
    also: frozenset[str]  # other forms of answering (the infinitive), for a sentence in another language
    common: frozenset[str]  # short words that tell the language


def _lex(*fields: str) -> Lexicon:
    verbs, asked, agents, answers, modals, also, common = (
        frozenset(w.replace("_", " ") for w in f.split()) for f in fields
    )
    return Lexicon(verbs, asked, agents, answers, modals, also, common)


LEXICONS: dict[str, Lexicon] = {
    "en": _lex(
        "answer reply respond cite quote say tell",
        "question questions asked",
        "assistant model",
        "answer answers response responses reply replies",
        "must should",
        "answered replied responded",
        "the and of to is that with for this are was be it not have by on which",
    ),
    "fr": _lex(
        "répondez dites citez mentionnez écrivez affirmez ignorez oubliez répétez précisez indiquez nommez",
        "question questions demande demandez demandent interroge interrogé",
        "assistant assistants assistante ia modèle_de_langage modèles_de_langage chatbot chatbots "
        "intelligence_artificielle",
        "réponse réponses résumé résumés",
        "doit doivent devra devront devez faut",
        "répondre répond répondent",
        "le les des est et une pour dans que qui pas sur au aux du ce sont avec vous nous il",
    ),
    "de": _lex(
        "beantworte antworte antwortet sag sage nenne zitiere erwähne ignoriere vergiss wiederhole schreibe schreib "
        "antworten_sie beantworten_sie nennen_sie zitieren_sie ignorieren_sie schreiben_sie erwähnen_sie sagen_sie",
        "frage fragen gefragt fragt",
        "assistent assistenten assistentin ki sprachmodell sprachmodelle chatbot",
        "antwort antworten zusammenfassung",
        "muss müssen soll sollen sollte sollten darf",
        "lautet beantworten",
        "der die das und ist nicht mit den dem ein eine zu auf sich von für ich sie es wird auch",
    ),
    "es": _lex(
        "responda respondan responded conteste contesten diga digan decid mencione mencionen escriba escriban "
        "citen ignoren olvide olviden repita repitan afirme afirmen",
        "pregunta preguntas pregunten preguntan pregunte",
        "asistente asistentes ia modelo_de_lenguaje chatbot inteligencia_artificial",
        "respuesta respuestas resumen",
        "debe deben deberá deberán",
        "responder responde contestar",
        "el los las del que y es en por para con una se no su al lo como",
    ),
    "it": _lex(
        "rispondi risponda rispondete dica dite scrivi scriva citi menzioni ignori dimentichi ripeti ripeta affermi",
        "domanda domande chiedono chiede chiedesse chiedano",
        "assistente assistenti ia modello_linguistico chatbot intelligenza_artificiale",
        "risposta risposte riassunto",
        "deve devono dovrà dovranno",
        "rispondere risponde",
        "il gli che di e è per una non con del della sono anche nel alla si",
    ),
    "pt": _lex(
        "responda respondam diga digam mencione mencionem escreva escrevam citem ignorem esqueça esqueçam repita "
        "repitam afirme afirmem",
        "pergunta perguntas perguntarem perguntar perguntem pergunte",
        "assistente ia modelo_de_linguagem chatbot inteligência_artificial",
        "resposta respostas resumo",
        "deve devem deverá deverão",
        "responder responde",
        "o os as que e é do da dos das em um uma para não com no na",
    ),
    "nl": _lex(
        "beantwoord antwoordt_u zeg zegt_u noem citeer vermeld negeer vergeet herhaal schrijf meld",
        "vraag vragen gevraagd vraagt",
        "assistent assistenten ai taalmodel taalmodellen chatbot kunstmatige_intelligentie",
        "antwoord antwoorden samenvatting",
        "moet moeten dient dienen",
        "beantwoorden",
        "de het een en van in is dat op te zijn niet met voor er",
    ),
    "sv": _lex(
        "svara besvara säg nämn citera ange ignorera glöm upprepa skriv",
        "fråga frågan frågor frågas frågar",
        "assistent assistenten ai språkmodell språkmodellen chatbot artificiell_intelligens",
        "svar svaret svaren sammanfattning",
        "måste ska skall bör",
        "svarar besvarar",
        "och i att det som en på är av för med till den inte har om",
    ),
    "pl": _lex(
        "odpowiedz odpowiedzcie odpowiadaj odpowiadajcie powiedz powiedzcie napisz napiszcie podaj podajcie wymień "
        "zacytuj zignoruj zapomnij powtórz",
        "pytanie pytania pytaniu pytań zapyta zapytany zapytają pytają",
        "asystent asystenta asystencie ai model modelu model_językowy czatbot chatbot sztuczna_inteligencja",
        "odpowiedź odpowiedzi podsumowanie",
        "musi muszą powinien powinna powinno powinny należy",
        "odpowiedzieć odpowiadać",
        "i w nie na się z że do to jest jak o co ale od",
    ),
    "tr": _lex(
        "yanıtla yanıtlayın cevapla cevaplayın söyle söyleyin belirt belirtin yaz yazın tekrarla tekrarlayın unut "
        "unutun bahset bahsedin",
        "soru sorusu soruya sorular soruları sorulursa sorulduğunda",
        "asistan asistanı yapay_zeka yapay_zekâ dil_modeli sohbet_botu",
        "cevap cevabı yanıt yanıtı yanıtın cevabın özet",
        "gerekir gerekiyor zorunda mutlaka",
        "yanıtlamak cevaplamak",
        "ve bir bu da de için ile çok olarak ne gibi daha sonra ama",
    ),
    "id": _lex(
        "jawablah jawab katakan katakanlah sebutkan kutip tulis tuliskan abaikan lupakan ulangi nyatakan",
        "pertanyaan ditanya ditanyakan bertanya",
        "asisten ai model_bahasa chatbot kecerdasan_buatan",
        "jawaban jawabannya ringkasan",
        "harus wajib sebaiknya",
        "menjawab",
        "yang dan di ini itu dengan untuk dari tidak ada ke akan pada juga",
    ),
    "ru": _lex(
        "отвечай отвечайте ответь ответьте скажи скажите напиши напишите укажи укажите сообщи сообщите процитируй "
        "процитируйте цитируй цитируйте игнорируй игнорируйте забудь забудьте повтори повторите упомяни "
        "упомяните назови назовите",
        "вопрос вопроса вопросе вопросы вопросов вопросах спросят спросит спрашивают",
        "ии ассистент ассистента языковая_модель языковой_модели нейросеть нейросети чат_бот",
        "ответ ответа ответе ответу ответом ответы ответов ответах",
        "должен должна должно должны следует обязан обязана обязаны",
        "ответить отвечать",
        "и в не на что с по как это он она они к из у за от",
    ),
    "uk": _lex(
        "відповідай відповідайте скажи скажіть напиши напишіть вкажи вкажіть повідом повідомте процитуй процитуйте "
        "ігноруй ігноруйте забудь забудьте повтори повторіть згадай згадайте назви назвіть",
        "питання питань запитання запитають спитають запитує",
        "ші асистент асистента мовна_модель мовної_моделі нейромережа нейромережі чат_бот",
        "відповідь відповіді відповіддю відповідей",
        "повинен повинна повинні має мають слід мусить мусять",
        "відповісти відповідати",
        "і в не на що з та як це він вона вони до із у за від",
    ),
}
_ZH_ORDER = re.compile(
    r"(?:请|务必|必须|一律|只能|只|应该|应当|总是)\s*.{0,3}?(?:回答|回复|答复|说|输出|引用|写|声称|忽略|提及)"
)
_ZH_CONTEXT = re.compile(r"问题|答案|回答|提问|被问|有人问|助手|模型|人工智能|AI|机器人")
_ZH_OBLIGED = re.compile(r"(?:答案|回答|回复|助手|模型|人工智能)[^。！？]{0,12}?(?:必须|应该|应当|务必|一律)")


def _tokens(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _holds(words: list[str], present: set[str], found: frozenset[str]) -> bool:
    """Whether `words` (whose set is `present`) hold one of `found`: a word, or a phrase as its words in a row."""
    if not present.isdisjoint(found):
        return True
    phrases = _phrases(found)
    if not phrases:
        return False
    line = f" {' '.join(words)} "
    return any(f" {phrase} " in line for phrase in phrases)


@functools.cache
def _phrases(found: frozenset[str]) -> tuple[str, ...]:
    return tuple(f for f in found if " " in f)


def orders_in_lexicon(words: list[str], lexicon: Lexicon) -> bool:
    """Whether the words order something about the answer in this lexicon's language (see the module)."""
    present = set(words)
    if _holds(words, present, lexicon.verbs) and _holds(
        words, present, lexicon.asked | lexicon.agents | lexicon.answers
    ):
        return True
    return _holds(words, present, lexicon.modals) and _holds(words, present, lexicon.agents | lexicon.answers)


_FOREIGN = {code: lex for code, lex in LEXICONS.items() if code != "en"}
# the first word of every order: a sentence holding none of them orders nothing in any of the languages
_TRIGGERS = frozenset(f.split()[0] for lex in _FOREIGN.values() for f in lex.verbs | lex.modals)


def orders_in_other_languages(sentence: str) -> bool:
    """Whether `sentence` orders something about the answer in one of the languages other than English."""
    if _HAN.search(sentence) and (
        (_ZH_ORDER.search(sentence) and _ZH_CONTEXT.search(sentence)) or _ZH_OBLIGED.search(sentence)
    ):
        return True
    words = _tokens(sentence)
    if _TRIGGERS.isdisjoint(words):
        return False
    return any(orders_in_lexicon(words, lex) for lex in _FOREIGN.values())


def guess_language(text: str, distinct: bool = False) -> str | None:
    """The language `text` is written in, as a key of LEXICONS, or None when unsure. With `distinct`, each common
    word counts once, as for a whole document: one word written many times (the module `os` on every line of
    an index, a common word in Portuguese) does not outweigh the many other words of the language it is in."""
    han, cyrillic, latin = len(_HAN.findall(text)), len(_CYRILLIC.findall(text)), len(_LATIN.findall(text))
    if han > max(cyrillic, latin) / 2 and han >= 4:
        return "zh"
    if cyrillic > latin:
        return "uk" if re.search(r"[іїєґІЇЄҐ]", text) else "ru"
    words = _tokens(text)
    if distinct:
        words = list(set(words))
    scores = sorted(((sum(w in lex.common for w in words), code) for code, lex in LEXICONS.items()), reverse=True)
    (best, code), (second, _) = scores[0], scores[1]
    return code if best >= 2 and best > second else None


_ALL_ANSWERING = frozenset().union(*(lex.verbs | lex.answers | lex.also for lex in LEXICONS.values()))


def answering_anywhere(sentence: str) -> bool:
    """Whether `sentence` holds a word of answering in any of the languages (a quick test before the others)."""
    return bool(_ALL_ANSWERING.intersection(_tokens(sentence))) or bool(_HAN.search(sentence))


def speaks_of_answering(sentence: str, language: str) -> bool:
    """Whether `sentence` holds a word of answering (a verb or the noun) in `language`."""
    if language == "zh":
        return bool(_ZH_CONTEXT.search(sentence))
    lexicon = LEXICONS.get(language)
    if lexicon is None:
        return False
    words = _tokens(sentence)
    return _holds(words, set(words), lexicon.verbs | lexicon.answers | lexicon.also)
