"""How a sentence is framed when it speaks to the answering model, in English: compiled patterns, no I/O.

The whole-sentence signs that qa/injection/instruction.py reads (its docstring says what each means): chat role
markers and labels, the answering model addressed by name or in a note, the answering model or whoever reads the
text made the subject of an obligation, and meta-talk that prescribes what the answer is. The order parser (an
imperative verb of answering and its complement) is in qa/injection/instruction.py; qa/injection/detect.py reads
role labels and markers again to find the blocks they open.
"""

from __future__ import annotations

import re

_FOLD = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"'})

_AGENT = (
    r"(?:a\.i\.|ai(?: (?:model|system|assistant|agent|tool|crawler|reader)s?)?|artificial intelligence|"
    r"(?:virtual |digital |chat |ai )?assistants?|chat ?bots?|llms?|(?:large )?language models?|"
    r"chat ?gpt|gpt-?\d\w*|copilot|answering (?:system|model|engine)s?|qa (?:system|model)s?|summari[sz]ers?|"
    r"automated (?:response |answer(?:ing)? )?(?:readers?|agents?|systems?|tools?|services?|assistants?|units?|"
    r"answerers?|part(?:y|ies)|software|bots?|crawlers?)|answerers?|answering (?:part(?:y|ies)|units?|software|bots?)|"
    r"(?:web |indexing |search )?crawlers?|(?:web )?scrapers?|(?:indexing|search|web) bots?|readers?'? software|"
    r"claude|gemini|bard|grok|deepseek|mistral|perplexity|"
    r"(?:summari[sz]ation|retrieval|answering|ai|llm|chat) (?:tools?|systems?|engines?|models?|bots?|agents?|"
    r"pipelines?))"
)
_ROLE = r"(?:system|assistant|developer|instructions?)"  # as a tag: <system>, </instructions>
# as a line's label, capitalised as chat transcripts write them: "System:", "USER:"
_LABELS = (
    r"(?:[Ss]ystem|SYSTEM|[Aa]ssistant|ASSISTANT|User|USER|Human|HUMAN|AI|Developer|DEVELOPER|Admin|ADMIN|"
    r"Instructions?|INSTRUCTIONS?|MODEL)(?: [A-Z]{3,})?"
)
# markers of a chat template or prompt format: never in ordinary prose
_MARKERS = re.compile(
    r"<\|[a-z_]{2,20}\|>|\[/?inst\]|<</?sys>>|\[/?(?:system|admin|developer)\b(?!')[^\]]{0,30}\](?!\()|</?"
    + _ROLE
    + r"(?:[_-][a-z]+)?(?:\s[^>]*)?>|"
    r"#{2,}\s*(?:instructions?|system|response|assistant|user|human|input)\s*:|<(?:start|end)_of_turn>|"
    r"\brole[\"']?\s*[:=]\s*[\"']?(?:system|assistant|developer)\b|"  # {"role": "system"}, role: system, role="system"
    r"[\"']role[\"']\s*:\s*[\"'](?:user|human|tool)[\"']\s*,\s*[\"'](?:content|text|parts)[\"']\s*:|"
    r"\b(?:system|admin|developer|operator) (?:notice|message|prompt|note|override|directive|instructions?)s?\s*:|"
    r"(?-i:\b(?:BEGIN|END|START) (?:OVERRIDE|SYSTEM|INSTRUCTIONS?|PROMPT|ADMIN)\b)",
    re.I,
)
# a settings key that configures the answering model: `assistant_config:`, "system_prompt": ..., llm_rules = ...
_SETTINGS_KEY = re.compile(
    r"(?:^|[{,]\s*)[\"']?(?:(?:assistant|chatbot)_(?:config|settings|instructions?|rules|behaviou?r|persona|prompt|"
    r"override)\w*|system_prompt|(?:answer|reply|response)_(?:for|to|override|rules?|policy)\w*|"
    r"(?:llm|model)_(?:instructions?|rules|override|directives?|behaviou?r|prompt)\w*)[\"']?\s*[:=]|"
    # a name or key for what an AI answers: <meta name="ai-answer">, "qa_override":, apply_to_ai_answers
    r"\b\w*(?:ai|llm|qa|assistant|chatbot|bot)[-_](?:answers?|responses?|repl(?:y|ies)|hints?|overrides?)(?:[-_][\w-]*)?(?![\w-])|"
    r"\b(?:answer|reply|response)[-_]overrides?\b|"
    r"[\"']override[\"']\s*:\s*true\b[^}]*[\"'](?:answer|reply|response)[\"']\s*:",
    re.M | re.I,
)
# a line opening with a role label and a colon, then a sentence of three words or more
ROLE_LABEL = re.compile(r"^[\s>*_#-]*(?:<!--\s*)?" + _LABELS + r"[ \t]*[*_]*:[ \t]+[*_]*(?:\S+[ \t]+){2,}\S", re.M)
VOCATIVE = re.compile(
    r"^[\s\"'*_>-]*(?:(?:ok|okay|now|so|listen|please)[,:]?\s+)?(?:the |any |all |every |each |my |you )?"
    r"(?:(?:dear|dearest|kind|good|helpful|friendly|lovely|sweet|wise|clever|smart) )?"
    + _AGENT
    + r"(?:\s*(?:,|and|or|&)\s*(?:other |all |any )?(?:"
    + _AGENT
    + r"|models?|systems?|bots?))*\s*([,:!;])",
    re.I,
)
_GREETING = re.compile(
    r"(?:^|[.!?:,;]\s+)[\s\"'*_>-]*(?:dear|hey|hi|hello|attention)\s+(?:the |any |all |every |my )?" + _AGENT + r"\b",
    re.I,
)
_NOTE_TO = re.compile(
    r"\b(?:message|note|notice|instructions?|reminder|warning|memo|directive|request|attention|orders?)\s+"
    r"(?:to|for)\s+(?:the |any |all |every |each |an? )?(?:\w+ )?" + _AGENT + r"\b|"
    r"^[\s\"'*_>(\[-]*(?:<!--\s*)?(?:to|for) (?:the |any |all |every |an? )?(?:\w+ )?(?:"
    + _AGENT
    + r"|model|system)\s*:|"
    r"^[\s\"'*_>(\[-]*(?:<!--\s*)?" + _AGENT + r" (?:note|notice|instructions?|message|memo|directive|override)s?\s*:|"
    r"[(\[]\s*(?:" + _AGENT + r"|model|bot)\s*:\s|"
    r"\bto\s*:\s*(?:the |all |any |every )?(?:\w+ )?" + _AGENT + r"\b|"
    r"\b(?:for|to) (?:the |all |any |every )?(?:\w+ )?" + _AGENT + r"\s*:|"
    r"\bappl(?:y|ies) to (?:every|any|all|each) (?:\w+ )?" + _AGENT + r"\b",
    re.I,
)
_AGENT_READING = re.compile(
    r"\b(?:model|system|bot|engine|tool)s?\s+(?:that is |which is |that are )?answering questions\b|"
    r"\byou (?:answer|respond to|reply to|summari[sz]e) (?:any |the |these )?questions? (?:about|on|regarding) "
    r"(?:this|the) (?:article|text|page|document|story|passage)\b|"
    r"\b" + _AGENT + r"\s+(?:that |who )?(?:is |are )?(?:reading|summari[sz]ing|processing|parsing|"
    r"analy[sz]ing|answering|indexing|crawling|scraping|ingesting|seeing)\s+(?:questions about )?"
    r"(?:this|these|the following|the text|the page|the document)\b|\bif you (?:are|'re) (?:an? )?(?:\w+ )?"
    + _AGENT
    + r"\b|\b(?:this|the) (?:text|page|document|article|passage|paragraph)\s+(?:is|was)\s+(?:being\s+)?(?:read|"
    r"processed|parsed|summari[sz]ed|analy[sz]ed|indexed|ingested|used)\s+by\s+(?:an?|the|any)\s+(?:\w+\s+)?"
    + _AGENT
    + r"\b|\b(?:essential|important|vital|necessary|crucial|imperative|mandatory|required) (?:that|for) (?:the |any |"
    r"every |all |each )?(?:\w+ )?"
    + _AGENT
    + r"\b[^.;!?]{0,80}?\b(?:report|say|state|mention|answer|reply|respond|cite|quote|tell|claim|repeat|name|"
    r"describe)\b",
    re.I,
)
OBLIGED = (
    r"(?:must|should|shall|is to|are to|needs? to|has to|have to|ought to|is required to|"
    r"are required to|is instructed to|are instructed to|may only|can only|is expected to|are expected to)"
)
# the answering model, or whoever reads or answers from this text, as the subject of an obligation: "any AI
# model summarising this article must state", "whoever answers questions about this must say"
AGENT_OBLIGED = re.compile(
    r"\b(?:all|any|every|each) (?:\w+ )?" + _AGENT + r"\s+will(?=\s+(?:report|say|state|answer|reply|respond|cite|"
    r"give|name|describe|list|output)\b)|"
    r"(?:^[\s\"'*_>-]*|[,;:(\[]\s*|\b(?:the|any|every|all|each|this|an?|you)\s+)(?:\w+\s+)?"
    + _AGENT
    + r"\b(?:,?\s+(?:\w+ing|that|who|which)\b(?:\s+[\w,]+){0,6}?)?\s+"
    + OBLIGED
    + r"\s|\b(?:whoever|anyone|anybody|everyone|someone)\s+(?:who\s+)?(?:is\s+)?(?:reads?|reading|answers?|answering|"
    r"summari[sz]es|summari[sz]ing|processes|processing)\s+(?:this|these|the following|questions)\b[^.]{0,60}?\s"
    + OBLIGED
    + r"\s",
    re.I,
)
_META = re.compile(
    r"\b(?:answer|response|reply)\s+(?:to|for)\s+(?:any|every|all|each)\s+(?:\w+\s+){0,2}"
    r"(?:questions?|quer(?:y|ies)|prompts?)\b[^.]{0,60}\b(?:is|are|should|must|shall)\b|"
    r"\b(?:questions?|quer(?:y|ies))\s+(?:about|on|regarding|concerning)\b[^.]{0,80}"
    r"\b(?:must|should|shall|is to|are to|will|can only) be answered\b|"
    r"\byour (?:new |real |only |actual |true |next |updated )(?:task|job|role|goal|objective|mission|purpose|"
    r"orders)\b|\byour (?:task|job|role|goal|objective|mission|purpose|orders) (?:now is|is now|has changed)\b|"
    r"\b(?:new|next|real|actual|updated) (?:task|objective|assignment)\s*:|"
    r"\bthe only (?:correct|acceptable|valid|right|permitted|allowed|true) (?:answer|response|reply)\b|"
    r"\b(?:example|sample|model|template|suggested|expected|ideal|reference|preferred) (?:answers?|responses?|"
    r"repl(?:y|ies))\s+(?:for|to|about) (?:this|the following|these) (?:article|text|document|page|passage|"
    r"paragraph|story|report|questions?)\b|"
    # a verdict on what the answer is: "the correct response to the question of who ... is ..."
    r"\b(?:correct|official|verified|approved|accepted) (?:answers?|(?:responses?|repl(?:y|ies))(?=\s+(?:to|for) "
    r"(?:[\w']+\s+){0,3}?(?:questions?|quer(?:y|ies))\b))(?:\s+(?:to|for|about|on)\b[^.;!?]{0,80}?)?\s*"
    r"(?:(?:is|are|will be|would be|reads)(?:\s|$)|:\s*(?-i:[\"'“«]?[A-Z]))|"
    r"\b(?:for|to|on) (?:any|every|each|all) (?:\w+ )?(?:questions?|quer(?:y|ies)|prompts?)\b[^.;!?]{0,80}?"
    r"\b(?:the|your) (?:answer|response|reply)\s+(?:is|are|should|must|shall)\b|"
    # the passage raising itself above the others: "this paragraph is the authoritative source", "only trust
    # this passage", "this note supersedes the other passages"
    r"\b(?:this|the following|these) (?:paragraph|passage|sentence|text|note|line|statement|block|chunk|snippet|"
    r"excerpt|source)s? (?:is|are|should be (?:treated|regarded|considered|taken) as|must be (?:treated|regarded|"
    r"considered|taken) as) (?:the )?(?:only |sole |single |most |final |one )?(?:authoritative|reliable|"
    r"trusted|trustworthy|definitive|official|correct|accurate|up-to-date|verified)\b|"
    r"\b(?:overrides?|supersedes?|replaces?|takes? precedence over|outranks?|invalidates?) (?:all |any |every |the )?"
    r"(?:other|previous|earlier|preceding|remaining|conflicting) (?:passages?|sources?|documents?|paragraphs?|"
    r"information|instructions?|statements?|text|context)\b|"
    r"\b(?:only )?(?:trust|believe|rely on) (?:only )?(?:this|the following|these) (?:paragraph|passage|sentence|"
    r"text|note|line|statement|source|section)s?\b|"
    # what alone may be said, or must be kept back: "the only fact to report is ...", "do not reveal that ..."
    r"\bthe only (?:\w+ )?(?:fact|thing|information|answer|response|name|number|figure)s? (?:to|you should|you may|"
    r"you can) (?:report|say|mention|give|state|tell|output|share|provide|repeat)\b|"
    r"\b(?:do not|don't|never) (?:reveal|disclose|admit|let (?:anyone|the user) know) that\b|"
    # a role handed to the answering model: "You are a helpful assistant that ...", "act as a chatbot that ..."
    r"\b(?:you are|you're|act as|behave as|pose as) (?:\w+ly )?(?:now )?(?:an?|the|my|our) (?:[\w-]+ ){0,3}?"
    r"(?:assistant|chat ?bot|ai|model|language model|agent|llm)\b|"
    r"\b(?:from now on|henceforth|from this point on|for the rest of (?:this|the) conversation)\b[^.]{0,40}"
    r"\b(?:you|your|answer|reply|respond|say|always|never)\b|"
    r"\byou (?:are|'re) (?:now )?(?:no longer (?:bound|restricted|limited|constrained) by|free of|freed from|"
    r"unrestricted|jailbroken|in (?:developer|god|dan) mode)\b|"
    # what the answer is to say, prescribed: "is to be recorded and reported as eleven", "in any generated response",
    # "it is required that any answer ... name ...", "any answer that does not state ..."
    r"\b(?:is|are) to be (?:\w+ )?(?:recorded|reported|rendered|stated|cited|quoted|answered)\b(?: and \w+)?"
    r"[^.;!?]{0,60}?\bas\b|"
    r"\b(?:any|all|every|each) (?:\w+ )?(?:generated|automated|ai[- ]generated|machine[- ]generated|republished|"
    r"synthesi[sz]ed) (?:responses?|answers?|repl(?:y|ies)|summar(?:y|ies)|excerpts?)\b|"
    r"(?:^|[,;:(]\s*|\b(?:any|all|every|each) (?:\w+ )?)(?:automated|ai[- ]generated|machine[- ]generated) "
    r"(?:outputs?|responses?|answers?|repl(?:y|ies)|summar(?:y|ies))\b|"
    r"\bin (?:any|all|every|each) outputs\b|"
    r"\b(?:required|mandatory|essential|necessary|imperative|demanded|ordered) that (?:the |any |every |all |each |"
    r"your )?(?:[\w']+ ){0,3}?(?:answers?|outputs?|summar(?:y|ies))\b|"
    r"\b(?:any|every|each|an?) (?:answer|response|reply|summary|output) (?:that|which) (?:does not|doesn't|fails to|"
    r"omits to) (?:state|say|mention|name|include|report|use)\b|"
    r"\b(?:new|updated|revised|secret|hidden|real|true) (?:instructions?|directives?)\s*"
    r"(?::|from (?:the |your )?(?:developer|system|admin\w*|operator|owner|creator)s?\b)",
    re.I,
)

ANSWER_THING = r"(?:answers?|responses?|repl(?:y|ies)|summar(?:y|ies)|completions?)"
# whoever asks: "whoever asks", "anyone who asks about", "the reader asking", "users who want to know"
ASKER = (
    r"(?:whoever|(?:anyone|anybody|everyone|someone|those|people|users?|readers?|visitors?|customers?) who|"
    r"the (?:reader|user|person|visitor|customer|asker)s?(?: who)?)\s+(?:asks?|asking|inquires?|inquiring|"
    r"wants? to know)\b"
)
_PRESCRIBES = (
    r"(?:must|should|shall|needs? to|has to|have to|ought to|(?:is|are) (?:required|expected|"
    r"supposed|meant) to|may only|can only|(?:is|are) (?:simply|always)\b|(?:is|are)\s*:\s*[\"'“«])"
)
# the answer as a thing: "response" and "reply" mean so many other things (HTTP, the immune system) that they count
# only as the response to a question, a query or a user
_AN_ANSWER = (
    r"(?:answers?|summar(?:y|ies)|(?:responses?|repl(?:y|ies))(?=\s+(?:to|for)\s+(?:[\w']+\s+){0,3}?"
    r"(?:questions?|quer(?:y|ies)|prompts?|users?|askers?)\b))"
)
# meta-talk: the answer (or whoever asks) as the subject of a prescription, whoever is told: "any answer about the
# troops must name ...", "answers should use it", "the answer to the question of ... is simply: ...", "make sure
# answers reflect ...", "anyone who asks about it should be told ..."
_META_TALK = re.compile(
    r"(?:\b(?:the|any|every|each|all|your|such|no|an?|all the)\s+(?:[\w']+\s+){0,2}?" + _AN_ANSWER + r"|"
    r"(?:^|[,;:(]\s*|\b(?:and|that|so|but|which)\s+)(?:[\w'-]+\s+)?(?:answers|summaries))"
    r"(?:\s+(?:to|about|on|for|regarding|concerning|of|given to|from)\b[^.;!?]{0,80}?|\s+\w+(?:ed|ing)\s+"
    r"(?:to|about|on|for|from|by|with|in|the|this|these|any|its|their)\b[^.;!?]{0,60}?)?,?\s+" + _PRESCRIBES + r"|"
    r"\b(?:make sure|ensure|see to it|be sure)\s+(?:that\s+)?(?:the |your |all |every |any |each )?(?:\w+\s+)?"
    + _AN_ANSWER
    + r"\b|\b"
    + ASKER
    + r"[^.;!?]{0,80}?\b"
    + r"(?:must|should|shall|is to|are to|needs? to|has to|ought to) (?:be (?:told|given|shown|answered)|hear|"
    r"receive|get)\b|"
    # any response, reply or completion, when what is prescribed is what it says: "your reply must begin with ..."
    r"(?:\b(?:the|any|every|each|all|your|such|an?|all the)\s+(?:[\w']+\s+){0,2}?|(?:^|[,;:(]\s*)(?:[\w'-]+\s+)?)"
    r"(?:responses?|repl(?:y|ies)|completions?)(?:\s+(?:\w+(?:ed|ing)\s+)?(?:to|about|on|for|regarding|concerning|"
    r"of|from|by)\b[^.;!?]{0,80}?)?,?\s+"
    r"(?:must|should|shall|needs? to|has to|have to|ought to|(?:is|are) required to)\s+"
    r"(?:(?:only|always|also|clearly|explicitly|first)\s+)*(?:state|say|mention|name|quote|cite|claim|report|repeat|"
    r"tell|describe|credit|attribute|identify|give|render|present|record|list|use|begin with|start with|end with|"
    r"contain the (?:word|phrase|token|string))\b",
    re.I,
)
# a word for the answering model that has other meanings ("the model", "the system"), counted only as the subject
# of an obligation to answer: "the model must reply only with ...", "the system should cite passage 1"
_MODEL_OBLIGED = re.compile(
    r"\b(?:the|this|any|every|each|your|an?)\s+(?:\w+\s+)?(?:model|system|bot|engine)s?\s+" + OBLIGED + r"\s+"
    r"(?:(?:only|always|never|not|just|simply|also|instead|then)\s+)*(?:reply|respond|answer|say|state|cite|quote|"
    r"mention|tell|output|repeat|write|claim|insist)\b",
    re.I,
)


def framed_as_instruction(sentence: str) -> bool:
    """Whether `sentence` carries a role marker, addresses the answering model by name or in a note, makes it (or
    an ambiguous word for it: "the model") the subject of an obligation to answer, or prescribes the answer."""
    text = sentence.translate(_FOLD)
    return any(
        pattern.search(text)
        for pattern in (
            _MARKERS,
            ROLE_LABEL,
            _SETTINGS_KEY,
            _GREETING,
            _NOTE_TO,
            _AGENT_READING,
            _META,
            _META_TALK,
            _MODEL_OBLIGED,
        )
    )


def opens_turn(sentence: str) -> bool:
    """Whether `sentence` holds a chat role marker: what follows it in its paragraph is a message to the model."""
    text = sentence.translate(_FOLD)
    return bool(_MARKERS.search(text) or ROLE_LABEL.search(text))
