"""The patient brief: what was studied, what the controlled trials found, what is known about
safety and what remains uncertain, in plain words, in English or Simplified Chinese.

`build` turns selected studies into a `Brief` (paragraphs and lists of plain text); the
writers render it as plain text, Markdown, or self-contained HTML (a Jinja2 template that
escapes everything it is given, so registry text can never become markup). The brief's own
words come from `WORDS`; what the registry recorded (titles, results) stays as recorded, in
English, and a Chinese brief says so.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from stemrenal import appraisal, vocabulary
from stemrenal.cite import doi_url, pmid_url, reference, short_citation
from stemrenal.query import participants

if TYPE_CHECKING:
    from stemrenal.models import Certainty, Coverage, Study, Trial
    from stemrenal.query import Filters

LANGUAGES = ("en", "zh")

#: The brief's own words. `{}` fields are filled from the registry; nothing else is.
WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Cell therapy for {topic}: what the studies show",
        "kidney disease": "kidney disease",
        "notice": "This brief describes published research. It is not medical advice: talk to "
        "your doctor before making any decision about treatment.",
        "recorded": "",
        "studied": "What was studied",
        "studied.count": "{studies} published studies with {people} people in all (people "
        "reported twice, in overlapping reports, are counted once).",
        "studied.rct": "{n} randomized controlled trials (chance decided who was given cells)",
        "studied.rct.1": "1 randomized controlled trial (chance decided who was given cells)",
        "studied.nrc": "{n} studies that compared people given cells with a similar group not "
        "given them, without chance deciding who was in which group",
        "studied.nrc.1": "1 study that compared people given cells with a similar group not given "
        "them, without chance deciding who was in which group",
        "studied.single": "{n} studies with no comparison group",
        "studied.single.1": "1 study with no comparison group",
        "studied.cases": "{n} case reports or small case series",
        "studied.cases.1": "1 case report or small case series",
        "studied.cells": "Cells tested: {cells}.",
        "controlled": "What the controlled studies found",
        "controlled.none": "No study compared people given cells with a similar group not given "
        "them, so none of the results below can show that the cells caused a change.",
        "controlled.study": "{citation} ({design}, {n}): cells compared with {comparator}. "
        "{findings}",
        "controlled.main": "Main result",
        "verdict.improved": "better with cells",
        "verdict.no-difference": "no better than the comparison",
        "verdict.worsened": "worse with cells",
        "verdict.mixed": "mixed results",
        "verdict.not-reported": "the groups were not compared in the report",
        "uncontrolled": "Studies without a comparison group",
        "uncontrolled.text": "{studies} studies ({people}) had no comparison group. They "
        "report changes from before to after treatment, which cannot show whether the cells "
        "caused them: an illness can improve on its own or with the other treatment people "
        "receive.",
        "uncontrolled.none": "Every study had a comparison group.",
        "safety": "What is known about safety",
        "safety.events": "Deaths, serious side effects and harms the authors put down to the "
        "treatment:",
        "safety.none": "No death or serious side effect was itemised in these studies.",
        "safety.silent": "{n} of the {total} studies gave no information on side effects.",
        "uncertain": "What remains uncertain, and why",
        "uncertain.small": "The studies were small: half had {median} people or fewer; {n} of "
        "{total} had fewer than 30.",
        "uncertain.uncontrolled": "{n} of {total} studies had no comparison group.",
        "uncertain.short": "Follow-up was short: {n} of {total} studies followed people for "
        "less than a year, and {missing} did not say how long.",
        "uncertain.certainty": "Where the certainty of the evidence was judged, it was {level} "
        "({records} judgements): further research is very likely to change these results.",
        "uncertain.trials": "{n} registered trials in this area have no published results as "
        "of {date}; unpublished results are often disappointing ones.",
        "uncertain.cell-free": "",
        "words": "Words used here",
        "about": "About this brief",
        "about.text": "Made by stemrenal {version} from the registry {registry} (searched up "
        "to {date}), for: {filters}. The full records, with every limitation and source: "
        "`stemrenal list` and `stemrenal show ID`.",
        "references": "Studies",
        "people": "{n} people",
        "person": "1 person",
        "none": "none",
        "and": ", ",
        "colon": ": ",
        "semi": "; ",
        "stop": ".",
    },
    "zh": {
        "title": "{topic}的细胞治疗:研究显示了什么",
        "kidney disease": "肾脏疾病",
        "notice": "本简介介绍已发表的研究,不构成医疗建议。在作出任何治疗决定之前,请咨询您的医生。",
        "recorded": "研究标题、结果等登记内容按原样保留英文。",
        "studied": "研究了什么",
        "studied.count": "共 {studies} 项已发表的研究,合计 {people} 人(在重叠报告中重复出现的患者只计一次)。",
        "studied.rct": "{n} 项随机对照试验(由随机方式决定谁接受细胞治疗)",
        "studied.nrc": "{n} 项对照研究:把接受细胞治疗的人与未接受的相似人群比较,但分组不是随机决定的",
        "studied.single": "{n} 项没有对照组的研究",
        "studied.cases": "{n} 份病例报告或小型病例系列",
        "studied.cells": "所用细胞:{cells}。",
        "controlled": "对照研究发现了什么",
        "controlled.none": "没有研究把接受细胞治疗的人与未接受的相似人群比较,因此以下结果都无法证明变化是细胞引起的。",
        "controlled.study": "{citation}({design},{n}):细胞治疗与{comparator}比较。{findings}",
        "controlled.main": "主要结果",
        "verdict.improved": "细胞治疗组更好",
        "verdict.no-difference": "并不比对照更好",
        "verdict.worsened": "细胞治疗组更差",
        "verdict.mixed": "结果不一",
        "verdict.not-reported": "报告中未对两组进行比较",
        "uncontrolled": "没有对照组的研究",
        "uncontrolled.text": "{studies} 项研究({people})没有对照组。它们报告的是治疗前后的变化,"
        "这无法说明变化是否由细胞引起:疾病可能自行好转,也可能因同时接受的其他治疗而好转。",
        "uncontrolled.none": "每项研究都有对照组。",
        "safety": "关于安全性的已知信息",
        "safety.events": "报告的死亡、严重不良反应以及作者认为由治疗引起的损害:",
        "safety.none": "这些研究没有逐项报告死亡或严重不良反应。",
        "safety.silent": "{total} 项研究中有 {n} 项没有提供不良反应的信息。",
        "uncertain": "仍不确定的问题及原因",
        "uncertain.small": "研究规模小:一半研究的人数不超过 {median} 人;{total} 项中有 {n} 项少于 30 人。",
        "uncertain.uncontrolled": "{total} 项研究中有 {n} 项没有对照组。",
        "uncertain.short": "随访时间短:{total} 项研究中有 {n} 项随访不到一年,另有 {missing} 项未说明随访时间。",
        "uncertain.certainty": "在评估过证据确定性的地方,确定性为{level}(共 {records} 项评估):"
        "进一步的研究很可能改变这些结果。",
        "uncertain.trials": "截至 {date},该领域有 {n} 项已登记的试验没有发表结果;未发表的结果往往是令人失望的结果。",
        "uncertain.cell-free": "",
        "words": "术语解释",
        "about": "关于本简介",
        "about.text": "由 stemrenal {version} 根据登记库 {registry}(检索截至 {date})生成,筛选条件:{filters}。"
        "包含全部局限性和来源的完整记录:`stemrenal list` 和 `stemrenal show ID`。",
        "references": "研究",
        "people": "{n} 人",
        "person": "1 人",
        "none": "无",
        "and": "、",
        "colon": ":",
        "semi": ";",
        "stop": "。",
    },
}

#: Designs, comparators, certainty and relatedness in plain words.
PLAIN: dict[str, dict[str, str]] = {
    "en": {
        "rct": "randomized controlled trial",
        "non-randomized-controlled": "controlled study, not randomized",
        "single-arm": "no comparison group",
        "case-series": "case series",
        "placebo": "a placebo (a dummy treatment)",
        "usual-care": "usual care alone",
        "active": "another treatment",
        "dose-comparison": "another dose of cells",
        "external": "patients treated elsewhere or earlier",
        "high": "high",
        "moderate": "moderate",
        "low": "low",
        "very-low": "very low",
        "related": "judged related to the treatment by the authors",
        "possibly-related": "judged possibly related to the treatment by the authors",
        "unrelated": "judged unrelated to the treatment by the authors",
    },
    "zh": {
        "rct": "随机对照试验",
        "non-randomized-controlled": "非随机对照研究",
        "single-arm": "无对照组",
        "case-series": "病例系列",
        "placebo": "安慰剂(无药效的模拟治疗)",
        "usual-care": "仅常规治疗",
        "active": "另一种治疗",
        "dose-comparison": "另一种细胞剂量",
        "external": "其他时间或地点治疗的患者",
        "high": "高",
        "moderate": "中等",
        "low": "低",
        "very-low": "极低",
        "related": "作者判断与治疗有关",
        "possibly-related": "作者判断可能与治疗有关",
        "unrelated": "作者判断与治疗无关",
    },
}

#: Terms explained, shown when the brief uses them: (term, explanation) by language.
GLOSSARY: dict[str, dict[str, tuple[str, str]]] = {
    "en": {
        "rct": (
            "Randomized controlled trial",
            (
                "A study in which chance decides who is given the treatment and who is in the "
                "comparison group, so that the groups differ only by the treatment. The most "
                "reliable way to tell whether a treatment works."
            ),
        ),
        "control": (
            "Comparison (control) group",
            (
                "People like those treated who are not given the cells, so that their course shows "
                "what would have happened anyway."
            ),
        ),
        "placebo": (
            "Placebo",
            (
                "A dummy treatment that looks like the real one, so that neither patients nor "
                "doctors' expectations can change the result."
            ),
        ),
        "msc": (
            "Mesenchymal stromal cells (MSC)",
            (
                "Cells grown in a laboratory from fat, bone marrow or umbilical cord, given by drip "
                "or injection; they are thought to act by calming inflammation."
            ),
        ),
        "proteinuria": (
            "Proteinuria",
            (
                "Protein leaking into the urine, a sign of kidney damage; a fall is good but does "
                "not by itself show that the kidneys will last longer."
            ),
        ),
        "kidney-function": (
            "Kidney function (creatinine, GFR)",
            "Blood tests that show how well the kidneys filter the blood.",
        ),
        "remission": (
            "Remission",
            "The disease becoming inactive, judged by set laboratory and clinical criteria.",
        ),
        "side-effect": (
            "Serious side effect",
            "A harmful event that leads to hospital, disability or death, whatever its cause.",
        ),
        "certainty": (
            "Certainty of the evidence",
            (
                "How sure one can be that the results are right (GRADE: high, moderate, low, very "
                "low). Very low means the true effect may well be quite different."
            ),
        ),
    },
    "zh": {
        "rct": (
            "随机对照试验",
            "由随机方式决定谁接受治疗、谁进入对照组的研究,使两组之间只有治疗不同。这是判断一种治疗是否有效最可靠的方法。",
        ),
        "control": (
            "对照组",
            "与接受治疗者相似但未接受细胞治疗的人,他们的病情变化显示了不治疗时本来会怎样。",
        ),
        "placebo": (
            "安慰剂",
            "外观与真实治疗相同但没有药效的模拟治疗,使患者和医生的期望不会影响结果。",
        ),
        "msc": (
            "间充质干细胞(MSC)",
            "在实验室中从脂肪、骨髓或脐带培养的细胞,通过静脉滴注或注射给予;一般认为它们通过减轻炎症起作用。",
        ),
        "proteinuria": (
            "蛋白尿",
            "蛋白质漏入尿液,是肾脏受损的标志;下降是好事,但本身不能说明肾脏能维持更久。",
        ),
        "kidney-function": ("肾功能(肌酐、肾小球滤过率)", "反映肾脏过滤血液能力的血液检查。"),
        "remission": ("缓解", "按既定的化验和临床标准判断,疾病变得不活动。"),
        "side-effect": ("严重不良反应", "导致住院、残疾或死亡的有害事件,无论其原因为何。"),
        "certainty": (
            "证据确定性",
            "对结果正确的把握程度(GRADE 分级:高、中、低、极低)。极低表示真实效果可能与观察到的大不相同。",
        ),
    },
}

#: Endpoints in plain words (others: the vocabulary's label, or its first Chinese alias).
ENDPOINTS: dict[str, dict[str, str]] = {
    "en": {
        "renal-response": "kidney remission",
        "proteinuria": "protein in the urine",
        "serum-creatinine": "creatinine (kidney function)",
        "egfr": "kidney function (eGFR)",
        "measured-gfr": "kidney function (measured GFR)",
        "mortality": "death",
        "kidney-failure": "kidney failure or dialysis",
        "disease-activity": "disease activity",
        "acute-rejection": "rejection of the transplant",
        "graft-function": "function of the transplanted kidney",
        "graft-survival": "loss of the transplanted kidney",
        "adverse-events": "side effects",
        "biomarkers": "laboratory markers",
        "infection": "infections",
    },
    "zh": {
        "renal-response": "肾脏缓解",
        "proteinuria": "尿蛋白",
        "serum-creatinine": "血肌酐(肾功能)",
        "egfr": "肾功能(估算肾小球滤过率)",
        "measured-gfr": "肾功能(实测肾小球滤过率)",
        "mortality": "死亡",
        "kidney-failure": "肾衰竭或透析",
        "disease-activity": "疾病活动度",
        "acute-rejection": "移植肾排斥",
        "graft-function": "移植肾功能",
        "graft-survival": "移植肾丢失",
        "adverse-events": "不良反应",
        "biomarkers": "化验指标",
        "infection": "感染",
    },
}


_FULL_WIDTH = str.maketrans({",": "，", ":": "：", ";": "；", "(": "（", ")": "）"})
_KEEP = re.compile(r"(\{[^}]*\}|`[^`]*`)")


def _chinese_punctuation(text: str) -> str:
    """Full-width commas, colons and brackets in Chinese text (not inside {fields} or `code`)."""
    return "".join(
        part if _KEEP.fullmatch(part) else part.translate(_FULL_WIDTH) for part in _KEEP.split(text)
    )


WORDS["zh"] = {k: _chinese_punctuation(v) for k, v in WORDS["zh"].items()}
PLAIN["zh"] = {k: _chinese_punctuation(v) for k, v in PLAIN["zh"].items()}
ENDPOINTS["zh"] = {k: _chinese_punctuation(v) for k, v in ENDPOINTS["zh"].items()}
GLOSSARY["zh"] = {
    k: (_chinese_punctuation(a), _chinese_punctuation(b)) for k, (a, b) in GLOSSARY["zh"].items()
}


class Part(NamedTuple):
    """A section of the brief: a heading, paragraphs, a list, and paragraphs after it."""

    heading: str
    paragraphs: tuple[str, ...] = ()
    items: tuple[str, ...] = ()
    after: tuple[str, ...] = ()


class Reference(NamedTuple):
    text: str
    url: str | None


class Brief(NamedTuple):
    """Everything the brief says, as plain text, in one language."""

    lang: str
    title: str
    notice: str
    recorded: str  # "registry text stays in English" (Chinese only), else ""
    parts: tuple[Part, ...]
    glossary: tuple[tuple[str, str], ...]
    about: str
    references: tuple[Reference, ...]


def _label(kind: str, term: str, lang: str) -> str:
    for t in vocabulary.terms(kind):
        if t.id == term:
            if lang == "zh":
                chinese = [a for a in t.aliases if any("\u4e00" <= ch <= "\u9fff" for ch in a)]
                if chinese:
                    return chinese[0]
            return t.label.replace(" [cell-free]", "")
    return term


def endpoint_words(endpoint: str, lang: str) -> str:
    return ENDPOINTS[lang].get(endpoint) or _label("endpoint", endpoint, lang).lower()


def _people(n: int, lang: str) -> str:
    return WORDS[lang]["person"] if n == 1 else WORDS[lang]["people"].format(n=n)


def _reference(study: Study) -> Reference:
    c = study.citation
    url = doi_url(c.doi) if c.doi else (pmid_url(c.pmid) if c.pmid else None)
    return Reference(reference(study), url)


def _studied(studies: Sequence[Study], lang: str) -> Part:
    w = WORDS[lang]
    from stemrenal.appraisal import DESIGN_STRENGTH

    counts = {d: sum(1 for s in studies if s.design.kind == d) for d in DESIGN_STRENGTH}
    keys = {
        "rct": "studied.rct",
        "non-randomized-controlled": "studied.nrc",
        "single-arm": "studied.single",
        "case-series": "studied.cases",
    }
    items = tuple(_counted(w, keys[d], n) for d, n in counts.items() if n)
    cells: dict[str, int] = {}
    for s in studies:
        name = (
            _label("cell-type", s.intervention.cell_type, lang)
            if s.intervention.cell_type
            else None
        )
        if name:
            cells[name] = cells.get(name, 0) + 1
    shown = w["and"].join(
        f"{name} ({n})" for name, n in sorted(cells.items(), key=lambda kv: -kv[1])
    )
    count = w["studied.count"].format(studies=len(studies), people=participants(studies))
    after = (w["studied.cells"].format(cells=shown),) if shown else ()
    return Part(w["studied"], (count,), items, after)


def _counted(w: dict[str, str], key: str, n: int) -> str:
    """The singular wording where the language has one ("1 study"), else the plural."""
    return w[f"{key}.1"] if n == 1 and f"{key}.1" in w else w[key].format(n=n)


def _findings(study: Study, lang: str, filters: Filters) -> str:
    from stemrenal import synthesis
    from stemrenal.query import outcome_passes

    w = WORDS[lang]
    compared = [
        o
        for o in study.outcomes
        if o.comparison == "between-groups"
        and outcome_passes((o.endpoint, o.primary, o.comparison), filters)
    ]
    primary = [o for o in compared if o.primary]
    chosen = primary or compared
    by_endpoint: dict[str, list[object]] = {}
    for o in chosen:
        by_endpoint.setdefault(o.endpoint, []).append(o)
    parts = []
    for endpoint, outcomes in list(by_endpoint.items())[:4]:
        verdict = synthesis.verdict(outcomes)  # type: ignore[arg-type]
        parts.append(f"{endpoint_words(endpoint, lang)}{w['colon']}{w['verdict.' + verdict]}")
    lead = f"{w['controlled.main']}{w['colon']}" if primary else ""
    return lead + w["semi"].join(parts) + w["stop"]


def _controlled(studies: Sequence[Study], lang: str, filters: Filters) -> Part:
    w, plain = WORDS[lang], PLAIN[lang]
    rows = []
    for s in studies:
        if s.design.kind not in appraisal.TOOL_FOR_DESIGN:
            continue
        if not any(o.comparison == "between-groups" for o in s.outcomes):
            continue
        classes = [c for c in s.design.comparator_classes if c != "none"]
        comparator = w["and"].join(plain.get(c, c) for c in classes) or w["none"]
        n = _people(s.enrolled, lang) if s.enrolled is not None else "n ?"
        rows.append(
            w["controlled.study"].format(
                citation=short_citation(s),
                design=plain[s.design.kind],
                n=n,
                comparator=comparator,
                findings=_findings(s, lang, filters),
            )
        )
    if not rows:
        return Part(w["controlled"], (w["controlled.none"],))
    return Part(w["controlled"], (), tuple(rows))


def _uncontrolled(studies: Sequence[Study], lang: str) -> Part:
    w = WORDS[lang]
    alone = [s for s in studies if s.design.kind not in appraisal.TOOL_FOR_DESIGN]
    if not alone:
        return Part(w["uncontrolled"], (w["uncontrolled.none"],))
    text = w["uncontrolled.text"].format(
        studies=len(alone), people=_people(participants(alone), lang)
    )
    return Part(w["uncontrolled"], (text,))


def _safety(studies: Sequence[Study], lang: str) -> Part:
    w, plain = WORDS[lang], PLAIN[lang]
    items = []
    for s in studies:
        for e in s.safety_events:
            harmful = (e.relatedness in ("related", "possibly-related") and e.event != "other") or (
                e.relatedness == "related"
            )
            if e.event != "death" and not e.serious and not harmful:
                continue
            count = ""
            if e.count is not None:
                count = f"{e.count}/{e.denominator} " if e.denominator else f"{e.count} "
            arm = f" [{e.arm}]" if e.arm else ""
            related = f" ({plain[e.relatedness]})" if e.relatedness else ""
            items.append(f"{short_citation(s)}: {count}{e.description}{arm}{related}")
    silent = sum(1 for s in studies if not s.safety_events and not s.safety)
    paragraphs = [w["safety.events"] if items else w["safety.none"]]
    tail = [w["safety.silent"].format(n=silent, total=len(studies))] if silent else []
    return Part(w["safety"], tuple(paragraphs), tuple(items) + tuple(tail))


def _uncertain(
    studies: Sequence[Study],
    lang: str,
    certainties: Sequence[Certainty],
    trials: Sequence[Trial],
    date: str,
) -> Part:
    w, plain = WORDS[lang], PLAIN[lang]
    total = len(studies)
    sizes = [s.enrolled for s in studies if s.enrolled is not None]
    items = []
    if sizes:
        median = statistics.median(sizes)
        small = sum(1 for n in sizes if n < 30)
        items.append(w["uncertain.small"].format(median=f"{median:g}", n=small, total=total))
    alone = sum(1 for s in studies if s.design.kind not in appraisal.TOOL_FOR_DESIGN)
    if alone:
        items.append(w["uncertain.uncontrolled"].format(n=alone, total=total))
    months = [s.follow_up_months for s in studies]
    short = sum(1 for m in months if m is not None and m < 12)
    missing = sum(1 for m in months if m is None)
    items.append(w["uncertain.short"].format(n=short, total=total, missing=missing))
    if certainties:
        lowest = max(certainties, key=lambda c: appraisal.CERTAINTY.index(c.certainty))
        items.append(
            w["uncertain.certainty"].format(level=plain[lowest.certainty], records=len(certainties))
        )
    unpublished = [t for t in trials if t.publication == "none-found"]
    if unpublished:
        items.append(w["uncertain.trials"].format(n=len(unpublished), date=date))
    return Part(w["uncertain"], (), tuple(items))


def _glossary(studies: Sequence[Study], lang: str) -> tuple[tuple[str, str], ...]:
    used = ["control", "side-effect", "certainty"]
    if any(s.design.kind == "rct" for s in studies):
        used.insert(0, "rct")
    if any("placebo" in s.design.comparator_classes for s in studies):
        used.append("placebo")
    if any(s.intervention.cell_type == "msc" for s in studies):
        used.append("msc")
    endpoints = {o.endpoint for s in studies for o in s.outcomes}
    if "proteinuria" in endpoints:
        used.append("proteinuria")
    if endpoints & {"serum-creatinine", "egfr", "measured-gfr", "graft-function"}:
        used.append("kidney-function")
    if "renal-response" in endpoints:
        used.append("remission")
    return tuple(GLOSSARY[lang][key] for key in used)


def topic(filters: Filters, lang: str) -> str:
    if not filters.diseases:
        return WORDS[lang]["kidney disease"]
    names = [_label("disease", d, lang) for d in filters.diseases]
    if lang == "en":  # "Lupus nephritis" inside a sentence, but "IgA" stays
        names = [n[0].lower() + n[1:] if n[1:2].islower() else n for n in names]
    return WORDS[lang]["and"].join(names)


def build(
    studies: Sequence[Study],
    filters: Filters,
    lang: str,
    *,
    certainties: Sequence[Certainty] = (),
    trials: Sequence[Trial] = (),
    coverage: Coverage | None = None,
    version: str = "",
    filters_text: str = "",
) -> Brief:
    """The brief of these studies (already selected by `filters`) in `lang`."""
    w = WORDS[lang]
    date = coverage.last_search if coverage else "?"
    wanted = {s.id for s in studies}
    relevant = [c for c in certainties if set(c.studies) & wanted]
    parts = (
        _studied(studies, lang),
        _controlled(studies, lang, filters),
        _uncontrolled(studies, lang),
        _safety(studies, lang),
        _uncertain(studies, lang, relevant, trials, date),
    )
    about = w["about.text"].format(
        version=version,
        registry=coverage.version if coverage else "?",
        date=date,
        filters=filters_text,
    )
    return Brief(
        lang=lang,
        title=w["title"].format(topic=topic(filters, lang)),
        notice=w["notice"],
        recorded=w["recorded"],
        parts=parts,
        glossary=_glossary(studies, lang),
        about=about,
        references=tuple(_reference(s) for s in studies),
    )


def heading(brief: Brief, key: str) -> str:
    return WORDS[brief.lang][key]


# ----------------------------------------------------------------------------- renderers


def plain_text(brief: Brief) -> str:
    """The brief for a terminal or a text file: headings in capitals, no markup."""
    from stemrenal.text import strip_controls
    from stemrenal.text import wrap as fold

    def wrap(text: str, first: str = "", rest: str = "") -> list[str]:
        return fold(strip_controls(text), 78, first, rest)

    def title(text: str) -> list[str]:
        return ["", text.upper() if brief.lang == "en" else text, ""]

    from stemrenal.text import _cells

    lines = [*wrap(brief.title), "=" * min(_cells(brief.title), 78), ""]
    lines += wrap(brief.notice)
    if brief.recorded:
        lines += wrap(brief.recorded)
    for part in brief.parts:
        lines += title(part.heading)
        for paragraph in part.paragraphs:
            lines += wrap(paragraph)
        for item in part.items:
            lines += wrap(item, "  - ", "    ")
        for paragraph in part.after:
            lines += wrap(paragraph)
    lines += title(heading(brief, "words"))
    for term, text in brief.glossary:
        lines += wrap(f"{term}: {text}", "  ", "    ")
    lines += title(heading(brief, "references"))
    for n, ref in enumerate(brief.references, 1):
        lines += wrap(f"{n}. {ref.text}" + (f" {ref.url}" if ref.url else ""), "  ", "     ")
    lines += ["", *wrap(brief.about), "", *wrap(brief.notice)]
    return "\n".join(lines) + "\n"


def markdown(brief: Brief) -> str:
    """The brief as Markdown: every registry text escaped, the notice first and last."""
    from stemrenal.output.writers import markdown_escape as esc
    from stemrenal.text import safe_url

    lines = [f"# {esc(brief.title)}", "", f"> **{esc(brief.notice)}**"]
    if brief.recorded:
        lines += [">", f"> {esc(brief.recorded)}"]
    for part in brief.parts:
        lines += ["", f"## {esc(part.heading)}", ""]
        lines += [esc(p) + "\n" for p in part.paragraphs]
        lines += [f"- {esc(item)}" for item in part.items]
        lines += ["\n" + esc(p) for p in part.after]
    lines += ["", f"## {esc(heading(brief, 'words'))}", ""]
    lines += [f"- **{esc(term)}**: {esc(text)}" for term, text in brief.glossary]
    lines += ["", f"## {esc(heading(brief, 'references'))}", ""]
    for n, ref in enumerate(brief.references, 1):
        link = f" [{esc(ref.url)}]({safe_url(ref.url)})" if ref.url else ""
        lines.append(f"{n}. {esc(ref.text)}{link}")
    lines += [
        "",
        f"## {esc(heading(brief, 'about'))}",
        "",
        esc(brief.about),
        "",
        f"**{esc(brief.notice)}**",
    ]
    return "\n".join(lines) + "\n"


def html(brief: Brief) -> str:
    """Self-contained HTML that prints on A4 or Letter: one template, autoescaped."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("stemrenal", "templates"),
        autoescape=True,  # every value is text: registry text can never become markup
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    template = env.get_template("brief.html.j2")
    return template.render(brief=brief, words=WORDS[brief.lang])
