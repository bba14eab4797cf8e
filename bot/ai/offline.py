"""The offline story generator: stories a team can work from, made from the feature text alone.

Without an ANTHROPIC_API_KEY this is what a team sees first, so each draft reads as a person
would write it: one role in the singular with its article ("As a project manager", "As an
admin"), the feature's own words (acronyms such as CSV or API kept, the project key dropped),
and each draft a different slice of the feature: the main flow (one per action the text
names), then its errors and edge cases, who may use it, its audit trail, large volumes,
undo, notifications, settings, discoverability and accessibility. Every slice has its own
title, 2 to 6 Given/When/Then criteria that fit it, and Fibonacci points.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.ai.generator import IMPROVE_NEEDS_CLAUDE, GenerationFailed, GenerationResult
from bot.ai.schemas import DraftMetadata, GenerationBrief, StoryDraft
from storage.projects import effective_settings

OFFLINE_MODEL = "offline"
OFFLINE_NOTE = "Made offline (no ANTHROPIC_API_KEY set): a draft for a person to review."

GOAL_CHARS = 80  # the feature's words in a title or a criterion; longer ones are cut at a word
_SENTENCES = re.compile(r"[.;!?\n]+\s*|\s+-\s+")
# "... so that finance can reconcile" / "... because ..." : the benefit, when the text gives one
_BENEFIT = re.compile(
    r"\s*,?\s+(so that|because|in order to|so(?= (?:they|it|we|i|you|people|users|nobody)\b))"
    r"\s+(.+)$",
    re.IGNORECASE,
)
_STORY_FORM = re.compile(
    r"^as an?\s+(?P<role>[^,]+?),?\s+i\s+(?:want|need|would like)\s+(?:to\s+)?(?P<goal>.+)$",
    re.IGNORECASE,
)
_WHO = (
    r"(?:the\s+|our\s+|all\s+)?"
    r"(?:users?|people|members?|customers?|admins?|teams?|we|they|i|you|everyone|anyone)"
)
# "Project managers can ...", "Shoppers want to ...": the subject names the role
_SUBJECT = re.compile(
    r"^(?P<who>(?:the\s+|our\s+|all\s+)?(?:[a-z-]+\s+)?[a-z-]+)\s+"
    r"(?:can|could|should|must|will|may|wants?\s+to|needs?\s+to|would\s+like\s+to)\s+"
    r"(?:be\s+able\s+to\s+)?",
    re.IGNORECASE,
)
_PRONOUNS = frozenset(("we", "i", "you", "they", "everyone", "anyone", "people", "users"))
_LEADS = (
    re.compile(
        r"^(?:we\s+|i\s+)?(?:need|want|would like)s?\s+(?:an?|the)\s+(?:way|ability|option)\s+"
        r"(?:for\s+\w+\s+)?to\s+",
        re.IGNORECASE,
    ),
    re.compile(rf"^(?:allow|let|enable|help)\s+{_WHO}\s+(?:to\s+)?", re.IGNORECASE),
    re.compile(
        r"^(?:add|support|build|implement|provide|introduce|create)\s+(?:an?\s+|the\s+)?"
        r"(?:way|ability|option|feature)\s+(?:for\s+\w+\s+)?to\s+",
        re.IGNORECASE,
    ),
    re.compile(r"^(?:support|implement|build|provide|introduce|enable)\s+", re.IGNORECASE),
    re.compile(r"^(?:feature|story|epic|request)\s*:\s*", re.IGNORECASE),
)
# Words a feature's action usually starts with: "I want to <verb> ..." reads right for them;
# any other text is a thing the user wants ("I want dark mode").
VERBS = frozenset(
    (
        "accept",
        "add",
        "apply",
        "approve",
        "archive",
        "assign",
        "attach",
        "block",
        "book",
        "bookmark",
        "browse",
        "buy",
        "cache",
        "calculate",
        "cancel",
        "change",
        "check",
        "choose",
        "clone",
        "close",
        "comment",
        "compare",
        "configure",
        "confirm",
        "connect",
        "contain",
        "convert",
        "copy",
        "count",
        "create",
        "customise",
        "customize",
        "decline",
        "delete",
        "detect",
        "disable",
        "display",
        "download",
        "drag",
        "duplicate",
        "edit",
        "email",
        "embed",
        "enable",
        "estimate",
        "expire",
        "export",
        "favorite",
        "favourite",
        "fetch",
        "filter",
        "find",
        "follow",
        "forward",
        "generate",
        "get",
        "give",
        "group",
        "hide",
        "highlight",
        "import",
        "include",
        "integrate",
        "invite",
        "join",
        "keep",
        "label",
        "let",
        "like",
        "limit",
        "link",
        "list",
        "load",
        "lock",
        "log",
        "login",
        "manage",
        "mark",
        "merge",
        "monitor",
        "move",
        "mute",
        "notify",
        "open",
        "order",
        "pay",
        "pick",
        "pin",
        "plan",
        "play",
        "post",
        "prevent",
        "preview",
        "print",
        "publish",
        "queue",
        "rank",
        "rate",
        "read",
        "receive",
        "recommend",
        "record",
        "recover",
        "refresh",
        "refund",
        "register",
        "remind",
        "remove",
        "rename",
        "render",
        "reopen",
        "reorder",
        "reply",
        "report",
        "request",
        "require",
        "reschedule",
        "reset",
        "resolve",
        "respond",
        "restore",
        "retry",
        "return",
        "reuse",
        "review",
        "save",
        "scan",
        "schedule",
        "search",
        "see",
        "select",
        "send",
        "set",
        "share",
        "show",
        "sign",
        "snooze",
        "sort",
        "split",
        "star",
        "start",
        "stop",
        "submit",
        "subscribe",
        "suggest",
        "sum",
        "switch",
        "sync",
        "tag",
        "throttle",
        "track",
        "transfer",
        "translate",
        "unblock",
        "undo",
        "unlock",
        "unsubscribe",
        "update",
        "upload",
        "upvote",
        "use",
        "validate",
        "verify",
        "view",
        "vote",
        "warn",
        "watch",
        "write",
    )
)
_SMALL = frozenset(
    (
        "be",
        "is",
        "are",
        "was",
        "were",
        "that",
        "which",
        "so",
        "but",
        "a",
        "an",
        "the",
        "of",
        "for",
        "to",
        "with",
        "and",
        "or",
        "by",
        "in",
        "on",
        "at",
        "from",
        "into",
        "per",
        "via",
        "as",
    )
)
_IRREGULAR = {
    "people": "person",
    "men": "man",
    "women": "woman",
    "children": "child",
    "staff": "staff",
}
_KEEP_S = ("ss", "us", "is", "ics")
_ACRONYM_AN = frozenset("AEFHILMNORSX")  # letters said with a vowel first: an API, an SRE


def singular(role: str) -> str:
    """ "project managers" -> "project manager", "the admins" -> "admin", "QA engineers" ->
    "QA engineer", "PMs and team leads" -> "PM or team lead": each role's last word in the
    singular, determiners dropped, acronyms kept."""
    roles = [r for r in re.split(r"\s*,\s*|\s+(?:and|or|&)\s+|\s*/\s*", role.strip()) if r]
    return " or ".join(dict.fromkeys(_one(r) for r in roles[:3])) or "user"


def _one(role: str) -> str:
    role = " ".join(_lower_first(w) for w in role.split())
    words = re.sub(r"^(?:the|a|an|all|our|every|some|any|each)\s+", "", role.strip(), flags=re.I)
    parts = words.split()
    if not parts:
        return "user"
    last = parts[-1]
    lower = last.lower()
    if last.isupper() and len(last) > 1:  # "QA" stays
        one = last
    elif last[:-1].isupper() and len(last) > 2 and last.endswith("s"):  # "PMs", "APIs"
        one = last[:-1]
    elif lower in _IRREGULAR:
        one = _IRREGULAR[lower]
    elif lower.endswith("ies") and len(lower) > 4:
        one = last[:-3] + "y"
    elif lower.endswith(("sses", "shes", "ches", "xes", "zes")):
        one = last[:-2]
    elif lower.endswith("s") and not lower.endswith(_KEEP_S) and len(lower) > 3:
        one = last[:-1]
    else:
        one = last
    return " ".join([*parts[:-1], one])


def with_article(noun: str) -> str:
    """ "a project manager", "an admin", "an API consumer", "a user", "an hour"."""
    first = noun.split()[0] if noun.split() else noun
    if first.isupper() and len(first) > 1:
        vowel = first[0] in _ACRONYM_AN
    else:
        low = first.lower()
        vowel = low[:1] in "aeiou" and not re.match(r"(?:uni|use|usu|eu|one|once|ur)", low)
        vowel = vowel or low.startswith(("hour", "honest", "honour", "honor", "heir"))
    return ("an " if vowel else "a ") + noun


def _lower_first(text: str) -> str:
    """Lower-case the first word when it is an ordinary capitalised word ("Export" ->
    "export"), never an acronym or a name with inner capitals ("CSV", "iOS", "GitHub")."""
    first, _, rest = text.partition(" ")
    if first[:1].isupper() and first[1:].islower():
        first = first.lower()
    return f"{first} {rest}".strip()


def _cut(text: str, limit: int = GOAL_CHARS) -> str:
    """At most `limit` characters, cut between words and never after a small word."""
    if len(text) <= limit:
        return text
    words = text[: limit + 1].split()[:-1] or [text[:limit]]
    while len(words) > 1 and words[-1].lower() in _SMALL:
        words.pop()
    return " ".join(words).rstrip(",:")


def _strip_key(text: str, key: str) -> str:
    """The feature without its project key in front ("WEB: Export as CSV", "WEB-7 export");
    in capitals only, as keys are written, so project ADD keeps "Add tags" whole."""
    if not key:
        return text
    return re.sub(rf"^\s*\[?{re.escape(key)}(?:-\d+)?\]?(?:\s*[:\-–—]\s*|\s+)", "", text)


_FIRST_PERSON = {"their": "my", "theirs": "mine", "themselves": "myself", "his or her": "my"}


def _first_person(text: str) -> str:
    """ "reset their password" -> "reset my password": the story speaks as its role."""
    return re.sub(
        r"\b(his or her|their|theirs|themselves)\b",
        lambda m: _FIRST_PERSON[m.group(1).lower()],
        text,
        flags=re.IGNORECASE,
    )


@dataclass(frozen=True)
class Goal:
    """One thing the feature asks for, in its own words."""

    words: str  # "export reports as CSV" / "dark mode"

    @property
    def is_action(self) -> bool:
        return self.words.split()[0].lower() in VERBS

    @property
    def want(self) -> str:
        """What follows "I want": "to export reports as CSV", "the API to return JSON",
        "dark mode"."""
        if self.is_action:
            return f"to {self.words}"
        does = _thing_does(self.words)
        return f"{does[0]} to {does[1]}" if does else self.words

    @property
    def act(self) -> str:
        """What follows "When I": "export reports as CSV", "rely on the API to return JSON",
        "use dark mode"."""
        if self.is_action:
            return self.words
        does = _thing_does(self.words)
        return f"rely on {does[0]} to {does[1]}" if does else f"use {self.words}"

    @property
    def title(self) -> str:
        return self.words[:1].upper() + self.words[1:]


def _thing_does(words: str) -> tuple[str, str] | None:
    """("the API", "return stories as JSON") from "the API returns stories as JSON", and
    ("reports", "export to PDF") from "reports export to PDF"; None for a plain thing."""
    parts = words.split()
    for i in (1, 2, 3):
        if len(parts) <= i + 1:
            return None
        verb = parts[i].lower()
        if verb in ("should", "must", "can", "will", "shall"):  # "the list should load fast"
            rest = parts[i + 1 :]
            rest = rest[2:] if rest[:2] == ["be", "able"] and rest[2:3] == ["to"] else rest
            return " ".join(parts[:i]), " ".join(rest)
        base = verb[:-2] if verb.endswith(("shes", "ches", "sses", "xes")) else verb
        base = base[:-1] if base == verb and verb.endswith("s") else base
        if base in VERBS and (base != verb or parts[i - 1].lower().endswith("s")):
            return " ".join(parts[:i]), " ".join([base, *parts[i + 1 :]])
    return None


def _goals(feature: str) -> tuple[list[Goal], str | None, str | None]:
    """(the actions the feature names, the role it names, the benefit it gives)."""
    role = benefit = None
    goals: list[Goal] = []
    for sentence in _SENTENCES.split(feature):
        sentence = sentence.strip(" -*•\t,")
        if not sentence:
            continue
        form = _STORY_FORM.match(sentence)
        if form:
            role = role or form.group("role")
            sentence = form.group("goal")
        found = _BENEFIT.search(sentence)
        if found and len(sentence[: found.start()].split()) >= 2:
            why, more = found.group(2), ""
            # "... so they stop cluttering the list, and to restore one later": a new action
            after = re.search(r",\s*(?:and\s+|then\s+)?(?:to\s+)?(?=(\w+))", why)
            if after and after.group(1).lower() in VERBS:
                why, more = why[: after.start()], ", and " + why[after.end() :]
            benefit = benefit or _benefit(found.group(1).lower(), why.strip())
            sentence = sentence[: found.start()] + more
        for _ in range(3):  # "We want to let users ..." peels more than one lead
            sentence, who = _subject_off(sentence)
            role = role or who
            for lead in _LEADS:
                sentence = lead.sub("", sentence).strip()
        for clause in _actions(sentence):
            words = _cut(_first_person(_lower_first(clause.strip(" ,"))))
            if len(words) >= 3 and all(g.words.lower() != words.lower() for g in goals):
                goals.append(Goal(words))
    return goals, role, benefit


def _subject_off(sentence: str) -> tuple[str, str | None]:
    """("export reports", "project managers") from "Project managers can export reports" or
    "Project managers export reports": the action, and the role when the subject names one."""
    found = _SUBJECT.match(sentence)
    if found and _plural_subject(found.group("who")):
        rest, who = sentence[found.end() :], found.group("who")
    else:
        words = sentence.split()
        at = next((i for i in (1, 2) if len(words) > i + 1 and words[i].lower() in VERBS), None)
        if at is None or not _plural_subject(" ".join(words[:at])):
            return sentence, None
        rest, who = " ".join(words[at:]), " ".join(words[:at])
    last = who.split()[-1].lower()
    return rest.strip(), None if last in _PRONOUNS else who


def _plural_subject(words: str) -> bool:
    """ "Project managers", "the admins", "we", "people": people doing the action, not the
    action itself nor a thing ("Reports export to PDF" keeps its subject)."""
    last = words.split()[-1].lower()
    if last in _PRONOUNS or last in ("staff", "team", "teams", "everybody", "nobody"):
        return True
    first = words.split()[0].lower()
    person = re.search(r"(?:er|or|ist|ant|ent|ian|ee|admin|lead|member|owner|guest)s$", last)
    return bool(person) and first not in VERBS


def _actions(sentence: str) -> list[str]:
    """A sentence cut where a new action starts: "export reports as CSV and schedule them
    weekly" -> two; "search and filter stories" or "as CSV, PDF and JSON" -> one."""
    parts = re.split(r"(,\s*(?:and\s+|then\s+)?|\s+and\s+|\s+then\s+)", sentence)
    out = [parts[0]]
    for sep, part in zip(parts[1::2], parts[2::2], strict=False):
        starts_action = part.split()[:1] and part.split()[0].lower() in VERBS
        if starts_action and len(part.split()) >= 2 and len(out[-1].split()) >= 2:
            out.append(part)
        else:
            out[-1] += sep + part
    return out


# ------------------------------------------------------------------------ the slices


@dataclass(frozen=True)
class Slice:
    """A part of the feature that can be built, shown and tested on its own."""

    name: str
    title: str  # "{title}" is the goal's title
    want: str  # what follows "I want": "{want}" is the goal's, "{act}" its action
    benefit: str
    criteria: tuple[str, ...]  # "{act}" is the goal's action, "{role}" the role with article
    tasks: tuple[str, ...]
    points: int
    tag: str
    priority_step: int = 0  # how many steps below the project's default priority


CORE = Slice(
    "core",
    "{title}",
    "{want}",
    "so that I can do it in one go instead of working around it",
    (
        "Given I am {role}, When I {act}, Then I see the result straight away",
        "Given I {act}, When it succeeds, Then I am shown what was done",
        "Given I {act} twice in a row, When the second attempt arrives, Then the result is the "
        "same as after the first",
    ),
    ("Design the main path", "Build the main path", "Test the main path end to end"),
    5,
    "core",
)
SLICES = (
    Slice(
        "errors",
        "{title}: errors and empty states",
        "to be told plainly what went wrong when I {act} and it fails",
        "so that a mistake or a failure never leaves me guessing or loses my work",
        (
            "Given required information is missing, When I {act}, "
            "Then I am told what is missing and nothing is saved",
            "Given the service fails part-way, When I {act}, "
            "Then I see what went wrong and what to try next, and no half-done result is kept",
            "Given there is nothing to work on yet, When I {act}, "
            "Then I see an empty state that says what to do first",
        ),
        ("List the failure and empty cases", "Write a clear message for each", "Test each case"),
        3,
        "errors",
    ),
    Slice(
        "permissions",
        "{title}: who may do it",
        "only the right people to be able to {act}",
        "so that nobody sees or changes what is not theirs",
        (
            "Given I am {role} with access, When I {act}, Then it works as usual",
            "Given I have no access, When I try to {act}, "
            "Then I am refused with a message that says who can help",
            "Given data I may not see, When I {act}, Then none of it is shown",
        ),
        ("Decide who may do it", "Check access on every path", "Test access and refusals"),
        3,
        "permissions",
    ),
    Slice(
        "audit",
        "{title}: audit trail",
        "each attempt to {act} recorded with who made it and when",
        "so that we can tell afterwards who did what and when",
        (
            "Given someone did it, When an admin opens the audit log, "
            "Then they see who did it and when",
            "Given it failed, When an admin opens the audit log, Then the failure and its "
            "reason are there",
        ),
        ("Record each use in the audit log", "Show it in the audit view", "Test the records"),
        2,
        "audit",
        1,
    ),
    Slice(
        "scale",
        "{title}: large volumes",
        "to {act} just as quickly when there is a lot of data",
        "so that I can rely on it as the data grows",
        (
            "Given 10,000 records, When I {act}, Then it finishes within 5 seconds",
            "Given it takes more than a second, When I {act}, "
            "Then I see progress rather than a frozen screen",
        ),
        ("Make a realistic large data set", "Measure and fix the slow parts", "Add a benchmark"),
        5,
        "performance",
        1,
    ),
    Slice(
        "undo",
        "{title}: undo and recovery",
        "to undo it right after I {act}",
        "so that a slip is easy to put right",
        (
            "Given I have just done it, When I choose Undo within 30 seconds, "
            "Then everything is as it was before",
            "Given I undid it, When I look at the history, Then both the change and the undo "
            "are recorded",
        ),
        ("Keep what is needed to undo", "Add the Undo action", "Test undo and its history"),
        3,
        "undo",
        1,
    ),
    Slice(
        "notify",
        "{title}: notifications",
        "the people concerned to hear about it when I {act}",
        "so that nobody has to keep checking back for news",
        (
            "Given someone else is concerned, When I {act}, Then they are notified once",
            "Given they turned such notifications off, When I {act}, Then they are not notified",
        ),
        ("Decide who is told and how", "Send the notification", "Test the opt-out"),
        2,
        "notifications",
        1,
    ),
    Slice(
        "settings",
        "{title}: settings",
        "defaults I can change for what happens when I {act}",
        "so that it behaves the way I expect",
        (
            "Given I may change its settings, When I change them, "
            "Then the next time anyone uses it the new settings apply",
            "Given the settings were never changed, When I {act}, Then sensible defaults apply",
        ),
        ("Choose the settings and defaults", "Add them to the settings screen", "Test both"),
        3,
        "settings",
        1,
    ),
    Slice(
        "help",
        "{title}: help and discoverability",
        "help and an example at hand the first time I {act}",
        "so that I can find it and use it without asking anyone",
        (
            "Given I have never used it, When I look for it, Then I find it where I work "
            "with a one-line explanation",
            "Given I am stuck, When I open its help, Then an example shows how to {act}",
        ),
        ("Write the help text and an example", "Link it from where the feature is"),
        1,
        "help",
        1,
    ),
    Slice(
        "access",
        "{title}: keyboard and screen readers",
        "to {act} with only a keyboard or a screen reader",
        "so that people who cannot use a mouse or see the screen can use it too",
        (
            "Given I use only a keyboard, When I {act}, Then every step can be reached",
            "Given I use a screen reader, When I {act}, Then each step and its result are read out",
        ),
        ("Check each step with a keyboard and a screen reader", "Fix what they miss"),
        2,
        "accessibility",
        1,
    ),
)
PRIORITIES = ("LOW", "MEDIUM", "HIGH", "CRITICAL")
_STOP = frozenset(
    (
        "that",
        "this",
        "with",
        "from",
        "have",
        "they",
        "their",
        "them",
        "when",
        "into",
        "users",
        "user",
        "want",
        "should",
        "able",
        "also",
        "will",
        "then",
        "like",
        "need",
        "what",
        "which",
        "your",
        "more",
        "other",
        "after",
        "before",
        "every",
        "each",
    )
)


def _tags(goal: Goal, slice_: Slice) -> list[str]:
    found = re.findall(r"[a-z][a-z0-9-]{2,}", goal.words.lower())
    words = [w for w in found if w not in _STOP and w not in _SMALL]
    return list(dict.fromkeys([*words[:3], slice_.tag]))


def _lowered(priority: str, steps: int) -> str:
    return PRIORITIES[max(PRIORITIES.index(priority) - steps, 0)]


class OfflineGenerator:
    """Drafts distinct, grammatical stories from the feature text, no Claude needed."""

    def generate(self, brief: GenerationBrief, *, model: str | None = None) -> GenerationResult:
        if brief.improve_story:  # rewriting a person's story needs Claude
            raise GenerationFailed(IMPROVE_NEEDS_CLAUDE, ai_model=OFFLINE_MODEL)
        text = brief.feature
        if brief.split_story:  # split a big story: its title is the feature
            text = str(brief.split_story.get("title") or brief.feature)
        goals, named_role, benefit = _goals(_strip_key(text, brief.project.key))
        if not goals:
            goals = [Goal(_cut(_lower_first(_strip_key(text, brief.project.key).strip())))]
        role = with_article(singular(brief.audience or named_role or "user"))
        priority = effective_settings(brief.project.settings)["default_priority"]
        # the main flow of each action first, then the other slices of the first action
        plan = [(goal, CORE) for goal in goals] + [(goals[0], s) for s in SLICES]
        drafts = []
        for n, (goal, slice_) in enumerate(plan[: brief.count]):
            # the text's own benefit is its first action's
            why = benefit if benefit and slice_ is CORE and n == 0 else slice_.benefit
            drafts.append(
                StoryDraft(
                    title=slice_.title.format(title=goal.title),
                    description=f"As {role}, I want "
                    f"{slice_.want.format(want=goal.want, act=goal.act)}, {why}.",
                    acceptance_criteria=[
                        c.format(act=goal.act, role=role) for c in slice_.criteria
                    ],
                    tasks=list(slice_.tasks) if brief.include_tasks else [],
                    story_points=slice_.points,
                    priority=_lowered(priority, slice_.priority_step),
                    tags=_tags(goal, slice_),
                    metadata=DraftMetadata(
                        ai_confidence=0,
                        estimated_hours=slice_.points * 4,
                        complexity="low" if slice_.points <= 2 else "medium",
                        dependencies=[] if n < len(goals) else [goals[0].title[:300]],
                    ),
                )
            )
        return GenerationResult(
            drafts=drafts,
            ai_model=OFFLINE_MODEL,
            input_tokens=0,
            output_tokens=0,
            offline=True,
            extra={"note": OFFLINE_NOTE},
        )


def _benefit(word: str, rest: str) -> str:
    """The feature's own "so that ..." as the story's benefit."""
    rest = _cut(rest.rstrip("."), 160)
    if word == "because":
        return f"because {rest}"
    if word == "in order to":
        return f"so that I can {rest}"
    if word == "so":
        return f"so that {rest}"
    return f"so that {rest}"
