"""Follow-up links between entries, and matters (a root entry and its follow-ups).

An entry that reports on an earlier matter (回访, 跟踪, 反馈, 复查, "3月5日记录的…",
"上次反映的…") is linked to the entry it follows up: candidates are the earlier entries
of the same book first, then those of other books of the same village. Each candidate
is scored on

* the referenced date (``3月5日记录的`` → an entry dated 3月5日);
* the people and places both entries name (jieba ``nr``/``ns`` words, and names such as
  张大爷, 老李, 王某某, 第三组);
* text similarity (cosine of character-bigram TF-IDF over all entries given);
* the same category, and recency (a chain links to its latest entry).

Every :class:`~classify.types.Link` keeps its score and the evidence that made it.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace

from minqing.classify.dates import cn_number, normalise, parse_date_line
from minqing.classify.lexicon import cut, lexicon_scores, pos_cut
from minqing.classify.types import STATUSES, Entry, Link, Matter

_FOLLOW_CUES = re.compile(
    r"回访|跟踪|反馈|复查|再次(?:走访|来到|到|入户|上门|去)|又(?:到|去|来到)|上次|上回|前次|此前|之前"
    r"|先前|前些天|前几天|前段时间|原来反映|早前|(?:记录|反映|提出|走访)的(?:[^。]{0,20})(?:问题|事|情况|矛盾|纠纷)"
    r"|(?:问题|事情|此事|事项)(?:的)?(?:进展|办理情况|结果)|落实情况|回头看|跟进|进展|进度"
    r"|(?:查看|了解|检查|看看|察看)[^。；;]{0,16}(?:情况|效果|进展)|(?:说|反映|提出|提到|讲)的[^。；;]{0,16}?的事"
    r"|^[^。；;]{2,20}的事[，,]"
    r"|(?:\d{1,2}|[一二三四五六七八九十]{1,2})月(?:\d{1,2}|[一二三四五六七八九十廿卅]{1,3})[日号]"
    r"(?:那件事|那桩事|的那件事|那次|那天(?:记|说|反映|提)的|记的|说的|反映的|提的)"
    r"|接着[^。；;]{0,12}的事|(?:那件|这件)事(?:的)?(?:后续|下文)"
)
_REF_DATE = re.compile(
    r"(?<!\d)(?:(?P<year>\d{4})年)?(?P<month>\d{1,2}|[一二三四五六七八九十]{1,2})月"
    r"(?P<day>\d{1,2}|[一二三四五六七八九十廿卅]{1,3})[日号]"
)
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞"
    "左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕"
)
_KIN = (
    r"(?:大爷|大娘|大妈|大伯|大叔|大婶|大嫂|奶奶|爷爷|老汉|老太|师傅|阿姨|"
    r"婶子?|叔|伯|嫂|某某|某|家)"
)
_NAME_RE = re.compile(
    r"(?:老|小)["
    + _SURNAMES
    + r"]|["
    + _SURNAMES
    + r"]"
    + _KIN
    + r"|["
    + _SURNAMES
    + r"][\u4e00-\u9fff]{1,2}(?=反映|说|家|同志|提出|来|的|户|等|老人)"
)
#: a full name behind a word for a villager (村民何志强, 低保户周桂芝, 走访对象:黄国庆)
_ROLE_NAME_RE = re.compile(
    r"(?:村民|农户|户主|老人|低保户|五保户|残疾人|养殖户|种植户|果农|组长|党员|对象[:：]?)"
    r"([" + _SURNAMES + r"][\u4e00-\u9fff]{1,2}?)(?=[等和与及、，,。的家说反来在因想要打到为]|$)"
)
_PLACE_RE = re.compile(
    r"(?:第?[一二三四五六七八九十\d]{1,2}(?:组|社|队))|[\u4e00-\u9fff]{2}(?:村|屯|沟|庄|湾|坪|桥)(?=[^民委里干组部务]|$)"
)
_NOT_PLACE = {"我们村", "全村", "本村", "该村", "到村", "回村", "进村", "在村", "他们村", "邻村"}
_CJK = re.compile(r"[\u4e00-\u9fff]")
_FUNCTION_CHARS = re.compile(r"[的了看来到在去进回已多云容是和与从把被向边这那]")
#: cues that name an earlier matter outright; the weak ones (跟进, 了解…情况) also occur in
#: new matters
_STRONG_CUES = re.compile(
    r"回访|复查|跟踪|上次|上回|前次|此前|之前|先前|原来反映|回头看|的事[，,]|\d月\d{1,2}日|[月]\S{1,3}日"
)


#: a visit report's section heads (二、反映的问题, 三、现场察看情况): labels, not cues
_SECTION_LABEL = re.compile(
    r"[一二三四五六七八九十][、.．]\s*(?:(?:群众|村民|家庭|近期)?(?:反映|提出)的?(?:主要)?问题(?:和诉求)?"
    r"|(?:现场)?察看情况|(?:家庭)?基本情况)"
)


def follow_up_cues(text: str) -> list[str]:
    """The words in ``text`` that mark it as a follow-up of an earlier matter (a visit
    report's section heads are not cues)."""
    t = _SECTION_LABEL.sub("。", normalise(text))
    return [m.group(0) for m in _FOLLOW_CUES.finditer(t)]


def referenced_dates(entry: Entry) -> list[tuple[int | None, int, int]]:
    """Dates ``(year or None, month, day)`` that ``entry``'s text refers to (not its own)."""
    text = _body(entry)
    out = []
    for m in _REF_DATE.finditer(text):
        month, day = cn_number(m.group("month")), cn_number(m.group("day"))
        if month is None or day is None:
            continue
        year = int(m.group("year")) if m.group("year") else None
        if entry.date is not None and (month, day) == (entry.date.month, entry.date.day):
            continue
        out.append((year, month, day))
    return out


def _body(entry: Entry) -> str:
    """``entry``'s normalised text without the date it opens with (``2024-4-25`` in
    ``2024-4-253月21日反映的…`` would otherwise hide the referenced 3月21日)."""
    text = normalise(entry.text)
    d = entry.date
    if d is None:
        return text
    head = re.match(
        rf"^\D{{0,8}}?(?:(?:{d.year}|\d{{2}}{d.year % 100:02d})\s*[年./\-]\s*)?"
        rf"0?{d.month}\s*[月./\-]\s*0?{d.day}[日号]?",
        text,
    )
    if head is None:
        m = parse_date_line(text)
        return text[m.end :] if m is not None and m.end < 40 else text
    return text[head.end() :]


def names_and_places(text: str) -> tuple[set[str], set[str]]:
    """People and places named in ``text`` (jieba POS ``nr``/``ns`` and name patterns)."""
    t = normalise(text)
    people = {m.group(0) for m in _NAME_RE.finditer(t)} | {
        m.group(1) for m in _ROLE_NAME_RE.finditer(t)
    }
    places = {m.group(0) for m in _PLACE_RE.finditer(t)} - _NOT_PLACE
    for word, flag in pos_cut(t):
        if flag.startswith("nr") and len(word) >= 2:
            people.add(word)
        elif flag == "ns" and len(word) >= 2:
            places.add(word)
    places = {p for p in places if not _FUNCTION_CHARS.search(p[:-1]) and not p.startswith("村")}
    # a "name" inside a place name (杨树 in 杨树沟) is not a person
    people = {
        p for p in people if not any(p in pl for pl in places) and not _FUNCTION_CHARS.search(p)
    }
    # a name with a kinship suffix also counts by its surname + suffix only (张大爷 ~ 张大爷家)
    people = {p[:-1] if p.endswith("家") and len(p) > 2 else p for p in people}
    # 志强 inside 何志强 is the same person; 大山 inside 李大山 is not a place
    people = {p for p in people if not any(p != q and p in q for q in people)}
    places = {pl for pl in places if not any(pl in p for p in people)}
    return people, places


def _bigrams(text: str) -> Counter:
    """Character bigrams plus jieba content words (``w:`` prefixed) of ``text``."""
    chars = "".join(_CJK.findall(text))
    feats = Counter(chars[i : i + 2] for i in range(len(chars) - 1))
    feats.update("w:" + w for w in cut(text) if len(w) >= 2 and _CJK.match(w))
    return feats


class _Similarity:
    """Cosine similarity of character-bigram TF-IDF vectors over a set of entries."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.vecs = [_bigrams(t) for t in texts]
        df: Counter = Counter()
        for v in self.vecs:
            df.update(v.keys())
        n = max(1, len(texts))
        self.idf = {g: math.log((1 + n) / (1 + c)) + 1.0 for g, c in df.items()}
        self.w = []
        for v in self.vecs:
            w = {g: (1 + math.log(c)) * self.idf[g] for g, c in v.items()}
            norm = math.sqrt(sum(x * x for x in w.values())) or 1.0
            self.w.append({g: x / norm for g, x in w.items()})

    def __call__(self, i: int, j: int) -> float:
        a, b = self.w[i], self.w[j]
        if len(a) > len(b):
            a, b = b, a
        return sum(x * b.get(g, 0.0) for g, x in a.items())


class _RarePhrases:
    """Runs of Chinese characters two entries share that few other entries have.

    ``进村路硬化`` in two entries says more than any bigram: a phrase is a maximal run of
    shared character :data:`PHRASE_N`-grams each found in at most :data:`PHRASE_MAX_DF`
    entries (and in at most a tenth of them, on a large archive).
    """

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = [
            "".join(ch if _CJK.match(ch) else " " for ch in _LABEL_WORDS.sub(" ", t)) for t in texts
        ]
        self.grams = [self._grams(t) for t in self.texts]
        df: Counter = Counter()
        for g in self.grams:
            df.update(g)
        limit = max(PHRASE_MAX_DF, len(texts) // 10)
        self.rare = {g for g, c in df.items() if 2 <= c <= limit}

    @staticmethod
    def _grams(t: str) -> set[str]:
        grams = (t[i : i + PHRASE_N] for i in range(len(t) - PHRASE_N + 1))
        return {g for g in grams if " " not in g and not _PHRASE_STOP.search(g)}

    def shared(self, i: int, j: int) -> list[str]:
        common = self.grams[i] & self.grams[j] & self.rare
        if not common:
            return []
        t = self.texts[i]
        out: list[str] = []
        k = 0
        while k <= len(t) - PHRASE_N:
            if t[k : k + PHRASE_N] in common:
                end = k + PHRASE_N
                while end < len(t) and t[end - PHRASE_N + 1 : end + 1] in common:
                    end += 1
                out.append(t[k:end])
                k = end
            else:
                k += 1
        return sorted(dict.fromkeys(out), key=len, reverse=True)


_LABEL_WORDS = re.compile(
    r"(?:走访)?(?:时间|地点|对象)|反映问题|原因分析|解决措施|办理结果|星期[一二三四五六日天]"
    r"|反映人|办理情况|处理意见|处理结果|记录人|事由|下步打算|初步意见"
)
#: n-grams with these say how a matter stands or join words, not what it is about
_PHRASE_STOP = re.compile(r"[已了着过正将把被很都也还又再就的地得在是和与及]|上报|联系|反映|解决")
#: wording that brings up a new matter: such an entry is not a follow-up without a cue
_NEW_MATTER = re.compile(
    r"(?<!跟踪)(?<!回访)反映(?!问题[:：]?(?:跟踪|回访|了解))|要求|希望|想要|想申请|请求|投诉|求助|担心|提出"
)
#: rare shared phrases: n-gram size, how many entries may share one, weight per n-gram
PHRASE_N = 4
PHRASE_MAX_DF = 3
PHRASE_WEIGHT = 0.1
PHRASE_MAX = 0.3

#: minimum score for a link: the child names an earlier matter outright (回访, 上次,
#: "3月5日…的") / has only a weak cue (跟进, 了解…情况) / has no cue
THRESHOLD_STRONG = 0.12
THRESHOLD_CUED = 0.30
THRESHOLD_UNCUED = 0.45
#: a follow-up with a cue but no referenced date: minimum score of an open matter
THRESHOLD_OPEN_CUED = 0.10
#: no cue, a result (status not recorded) and a villager named in an open matter
#: within :data:`PERSON_DAYS`: minimum score
THRESHOLD_PERSON = 0.25
PERSON_DAYS = 75
#: no cue, a result, no name: minimum similarity and score with an open matter
SIM_RESULT = 0.20
#: ... or this similarity within :data:`PERSON_DAYS` (train*, dev: 0.12 gains links on all
#: five splits, 0.10 loses on dev)
SIM_RESULT_NEAR = 0.12
THRESHOLD_RESULT = 0.20
#: how much better another book's candidate must score than the same book's best
CROSS_BOOK_MARGIN = 0.25


def link_entries(
    books: Mapping[str, Sequence[Entry]],
    villages: Mapping[str, str | None],
    *,
    cadres: Mapping[str, str | None] | None = None,
    townships: Mapping[str, str | None] | None = None,
    posts: Mapping[str, str | None] | None = None,
    suggestions: list[Link] | None = None,
) -> list[Link]:
    """Follow-up links ``child → parent`` between the entries of ``books``.

    Args:
        books: book id → that book's entries (as :func:`segment_book` returned them).
        villages: book id → village name (None when unknown: then only same-book links).
        cadres: book id → the name of the cadre who keeps the book (optional). A cadre
            named in two entries ("听孙海平说…") is not a villager both are about, so
            cadres' names are not person evidence.
        townships: book id → township (optional, issue 13). An entry that cites another
            cadre's diary of the same township by name or title and date
            (``镇包村干部李明3月12日记的东沟桥的事``, ``唐书记九月里报县林业局的``) gets that
            book's entries as candidates, the cited day's first (evidence ``diary:…``).
        posts: book id → the cadre's post (``村党支部书记``), whose title (书记, 主任…)
            after the surname also names the cadre.
        suggestions: a list that receives the *suggested* links: for an entry with a
            no linked candidate, its best candidate when that scored at
            least :data:`SUGGEST_SHARE` of the threshold and shares something specific
            (a day, a person, a rare phrase, a citation); evidence ends with
            ``suggested``. They are for a reviewer to confirm, never links themselves.

    Children are taken in date order, so a candidate's matter (linked so far) and
    whether it is still open (no result yet) are known. The decision, in order:

    0. the first entry of a cadre's later notebook that has no date line of its own
       (date inferred or missing) continues the last entry of the same cadre's previous
       notebook (evidence ``continuation``);
    1. the best candidate whose score passes the threshold for the child's cue
       (a referenced date, a strong cue, a weak cue, none);
    2. a child with a cue but no referenced date: the best-scoring earlier *open*
       matter (evidence ``open-matter``);
    3. a child with no cue but a result (status not recorded): an open matter that
       named the same villager within :data:`PERSON_DAYS` (``same-person-result``), or
       one whose wording it shares (``similar-result``: a rare phrase or high similarity).

    Without a referenced date the link goes to the latest entry of the chosen matter
    in the same book (``latest-of-matter:<the entry scored>``).

    Returns:
        One link per entry judged a follow-up, ``(book_id, seq)`` pairs, with score
        in [0, 1] and evidence (``cue:回访``, ``date:3月5日``, ``person:张大爷``,
        ``place:第三组``, ``sim:0.42``, ``category``, ``cross-book``).
    """
    keys: list[tuple[str, int]] = []
    ents: list[Entry] = []
    for book_id, entries in books.items():
        for e in entries:
            keys.append((book_id, e.seq))
            ents.append(e)
    if not ents:
        return []
    sim = _Similarity([_body(e) for e in ents])
    not_people = {c for c in (cadres or {}).values() if c}
    info = []
    for e in ents:
        people, places = names_and_places(e.text)
        info.append(({p for p in people if not any(p in c or c in p for c in not_people)}, places))
    phrases = _RarePhrases([_body(e) for e in ents])
    index = {k: i for i, k in enumerate(keys)}
    book_rank = {b: n for n, b in enumerate(books)}
    # children in time order, so that a candidate's matter (and whether it is still open)
    # is known from the links made before; undated entries keep their book order
    order = sorted(range(len(ents)), key=lambda i: _when(ents, keys, book_rank, i))
    parent_of: dict[int, int] = {}
    links: list[Link] = []
    aliases = _cadre_aliases(books, cadres or {}, posts or {})
    continued = _continuations(books, cadres or {})
    for ci in order:
        child = ents[ci]
        cbook = keys[ci][0]
        if (cbook, child.seq) in continued:
            prev_book, prev_seq = continued[(cbook, child.seq)]
            pi = index[(prev_book, prev_seq)]
            parent_of[ci] = pi
            links.append(Link(child=keys[ci], parent=keys[pi], score=CONTINUATION_SCORE,
                              evidence=("continuation", "cross-book")))  # fmt: skip
            continue
        cues = follow_up_cues(child.text)
        refs = referenced_dates(child)
        same = [index[(cbook, e.seq)] for e in books[cbook] if e.seq < child.seq]
        village = villages.get(cbook)
        other: list[int] = []
        town = (townships or {}).get(cbook)
        if village:
            for b, entries in books.items():
                if (
                    b != cbook and villages.get(b) == village
                    and not (town and (townships or {}).get(b) not in (None, town))
                ):  # fmt: skip  # 石门村 of another township is another village
                    other.extend(index[(b, e.seq)] for e in entries if _not_later(e, child))
        cited = _diary_citations(child, cbook, aliases, townships or {})
        for b in cited:
            if b not in {keys[i][0] for i in other}:
                other.extend(index[(b, e.seq)] for e in books[b] if _not_later(e, child))
        if cited:
            cues = [*cues, *(f"diary:{cited[b][0][0]}" for b in cited)]
        strong = bool(cited) or any(_STRONG_CUES.search(c) for c in cues)
        threshold = THRESHOLD_STRONG if strong else THRESHOLD_CUED if cues else THRESHOLD_UNCUED
        scored = {
            pi: _score(ci, pi, ents, info, sim, refs, phrases)
            for pi in same + other
            # the continuation of the child's own notebook (the first entry of the next
            # one) comes after every entry of this one
            if continued.get(keys[pi], (None,))[0] != cbook
        }
        for pi in scored:
            bonus, ev = _citation_bonus(cited.get(keys[pi][0]), ents[pi])
            if bonus:
                scored[pi] = (scored[pi][0] + bonus, [*ev, *scored[pi][1]])
        cross_of = {pi: pi in other for pi in scored}
        if not cues:
            # with no cue, only a matter still waiting for a result is followed up, and a
            # look-alike (the same villager or place, another matter: another category, no
            # shared matter words) is not
            scored = {pi: sv for pi, sv in scored.items()
                      if (_open(pi, ents, parent_of, ci) or _outright(sv))
                      and not _look_alike(child, ents[pi], sv[1])}  # fmt: skip
        best = _pick(scored, cross_of, threshold)
        # a citation of another cadre's diary with the day (or month) of one of its entries
        # names the matter outright: that entry, before any of the child's own book
        named = {pi: sv for pi, sv in scored.items() if cross_of[pi]
                 and any(e.startswith("diary:") and e.count(":") == 2 for e in sv[1])}  # fmt: skip
        if named and (best is None or not any(e.startswith("date:") for e in scored[best][1])):
            best = _pick(named, cross_of, threshold) or best
        why: list[str] = []
        if best is None and cues and not refs:
            # a follow-up that names no date: the most similar earlier open matter
            pool = {pi: sv for pi, sv in scored.items() if _open(pi, ents, parent_of, ci)}
            best = _pick(pool, cross_of, THRESHOLD_OPEN_CUED)
            why = ["open-matter"]
        uncued_result = (
            not cues
            and child.status != "recorded"
            and not _NEW_MATTER.search(_LABEL_WORDS.sub("", _body(child)))
        )
        if best is None and uncued_result:
            # no cue, but a result about a villager an open matter named within weeks
            pool = {
                pi: sv
                for pi, sv in scored.items()
                if any(e.startswith("person:") for e in sv[1])
                and _within(ents[pi], child, PERSON_DAYS)
                and _open(pi, ents, parent_of, ci)
            }
            best = _pick(pool, cross_of, THRESHOLD_PERSON)
            why = ["same-person-result"]
        if best is None and uncued_result:
            # no cue and no name: a result whose wording is close to an open matter's
            pool = {
                pi: sv
                for pi, sv in scored.items()
                if (
                    _sim_of(sv[1]) >= SIM_RESULT
                    or any(e.startswith("phrase:") for e in sv[1])
                    or (_sim_of(sv[1]) >= SIM_RESULT_NEAR and _within(ents[pi], child, PERSON_DAYS))
                )
                and _open(pi, ents, parent_of, ci)
            }
            best = _pick(pool, cross_of, THRESHOLD_RESULT)
            why = ["similar-result"]
        prev_i = index.get((cbook, child.seq - 1))
        if (
            best in (None, prev_i) and child.date_kind == "relative" and prev_i in scored
            and not _ANOTHER_MATTER.search(_body(child)[:20])
            and (
                any(e.startswith(("person:", "place:", "phrase:")) for e in scored[prev_i][1])
                or _YESTERDAY.search(_body(child))
            )
            and scored[prev_i][0] >= THRESHOLD_OPEN_CUED
        ):  # fmt: skip
            # 第二天一早又去了下湾: a relative start about a person or place of the entry
            # right before it goes on with that entry's matter
            best, why = prev_i, ["relative-start"]
        if best is not None and _thin(scored[best][1]) and "relative-start" not in why:
            # nothing of the wording in common and no day named: for a reviewer to confirm
            if suggestions is not None:
                sc, ev = scored[best]
                suggestions.append(Link(child=keys[ci], parent=keys[best],
                                        score=round(min(1.0, sc) * SIM_MIN_SHARE, 4),
                                        evidence=(*[f"cue:{c[:6]}"
                                                    for c in dict.fromkeys(cues)][:3],
                                                  *ev, *why, "thin-wording",
                                                  "suggested")))  # fmt: skip
            continue
        if best is None:
            if suggestions is not None:
                sug = _suggest(scored, threshold)
                if sug is not None:
                    sc, ev = scored[sug]
                    suggestions.append(Link(child=keys[ci], parent=keys[sug],
                                            score=round(min(1.0, sc), 4),
                                            evidence=(*[f"cue:{c[:6]}"
                                                        for c in dict.fromkeys(cues)][:3],
                                                      *ev, "suggested")))  # fmt: skip
            continue
        pi = best
        score, evidence = scored[pi]
        day_named = any(
            e.startswith("date:") or (e.startswith("diary:") and e.endswith("日")) for e in evidence
        )
        month_cited = any(e.startswith("diary:") and e.count(":") == 2 for e in evidence)
        if not day_named:
            # the follow-up reports on the matter: link to its latest entry so far (for a
            # cited month, only when that is in the child's own notebook)
            latest = _latest_member(pi, ents, parent_of, ci, keys, book_rank)
            if latest != pi and (not month_cited or keys[latest][0] == cbook):
                why.append(f"latest-of-matter:{keys[pi][0]}:{keys[pi][1]:03d}")
                pi = latest
        ev = [f"cue:{c[:6]}" for c in dict.fromkeys(cues)][:3] + evidence + why
        if keys[pi][0] != cbook:
            ev.append("cross-book")
        parent_of[ci] = pi
        links.append(
            Link(
                child=keys[ci], parent=keys[pi], score=round(min(1.0, score), 4), evidence=tuple(ev)
            )
        )
    links.sort(key=lambda lk: (book_rank[lk.child[0]], lk.child[1]))
    return links


#: without a cue, a candidate of another category needs this similarity or a rare phrase
SIM_LOOKALIKE = 0.15
#: a link whose wording shares less than this similarity with its parent, with no day
#: named (a referenced date, a cited diary's day or month), is only suggested: on the
#: independent train and dev splits every such link but two was wrong (15 of 17)
SIM_MIN_LINK = 0.07
#: a relative start that says it brings up another matter (同日再记一件, 当天还有一件事)
_ANOTHER_MATTER = re.compile(r"再记一件|还有一件|另一件|另外一件|又一件|另有一")
#: a relative start that names the day before (带着昨天拍的照片): the entry before
_YESTERDAY = re.compile(r"昨天|昨日|头天|前一天|头一天")
#: a suggestion's score is scaled by this share (it did not make a link)
SIM_MIN_SHARE = 0.5


#: with no cue, a candidate whose matter looks closed is still followed up when it scores
#: this much with a rare phrase and a person, or names its day
THRESHOLD_CLOSED = 0.7  # train, train2, dev gain a link each at 0.7; 0.5 loses one on train


def _outright(sv) -> bool:
    """The child names the candidate's day, or shares a villager and a rare phrase with it
    (a matter read as closed, by a wrong earlier link or a result that was not the end)."""
    score, ev = sv
    if any(e.startswith("date:") for e in ev):
        return True
    return (
        score >= THRESHOLD_CLOSED
        and any(e.startswith("phrase:") for e in ev)
        and any(e.startswith(("person:", "place:")) for e in ev)
    )


def _thin(evidence) -> bool:
    """Nothing of the wording in common and no day named."""
    return _sim_of(evidence) < SIM_MIN_LINK and not any(
        e.startswith("date:") or (e.startswith("diary:") and e.count(":") == 2) for e in evidence
    )


def _look_alike(child: Entry, parent: Entry, evidence) -> bool:
    """Names and places in common but another category and no matter words in common."""
    if child.category_code == parent.category_code:
        return False
    return (
        not any(e.startswith(("phrase:", "date:")) for e in evidence)
        and _sim_of(evidence) < SIM_LOOKALIKE
    )


#: a suggested link's candidate scored at least this share of the child's threshold
SUGGEST_SHARE = 0.5
_SPECIFIC = ("date:", "person:", "phrase:", "diary:")


def _suggest(scored, threshold) -> int | None:
    pool = [(sv[0], pi) for pi, sv in scored.items()
            if sv[0] >= SUGGEST_SHARE * threshold
            and any(e.startswith(_SPECIFIC) for e in sv[1])]  # fmt: skip
    return max(pool)[1] if pool else None


#: score of a continuation link (the first entry of a cadre's next notebook, undated)
CONTINUATION_SCORE = 0.95
#: score added for a citation of another cadre's diary with the candidate's day / month / none
CITE_DAY = 0.8
CITE_MONTH = 0.25
CITE_NAME = 0.1
_TITLES = (
    "书记",
    "支书",
    "主任",
    "站长",
    "所长",
    "干事",
    "委员",
    "组长",
    "会计",
    "镇长",
    "乡长",
    "队长",
)
_MONTH_ONLY = re.compile(
    r"(?P<month>\d{1,2}|[一二三四五六七八九十]{1,3})月(?:份|里|中旬|上旬|下旬|初|底)"
)


def _cadre_aliases(books, cadres, posts) -> dict[str, tuple[str, ...]]:
    """Book id → the ways its cadre is named in another's diary: the full name, and the
    surname followed by a title of the cadre's post (刘主任, 唐书记)."""
    out = {}
    for b in books:
        name = (cadres.get(b) or "").strip()
        if len(name) < 2:
            continue
        post = posts.get(b) or ""
        names = [name]
        titles = [t for t in _TITLES if t in post]
        if "书记" in post and "支部" in post:
            titles.append("支书")
        names += [name[0] + t for t in titles]
        out[b] = tuple(dict.fromkeys(names))
    return out


_MONTH_NAMED = re.compile(
    r"(?<![\d一二三四五六七八九十农历])(?P<month>1[0-2]|[1-9]|十[一二]|[一二三四五六七八九十])月"
    r"(?!\s*(?:\d{1,2}|[一二三四五六七八九十廿卅初]{1,3})\s*[日号])"
)
_DAY_ONLY = re.compile(r"(?<![\d月])(?P<day>[1-9]|[12]\d|3[01])\s*[日号](?!\d)")


def _cited_day(near: str, child: Entry, before: bool) -> tuple[int, int | None] | None:
    """``(month, day or None)`` of a day written in ``near`` (a few characters around a
    cadre's name): ``3月12日``, ``12号`` (the child's month, or the month before),
    ``九月里``/``七月``, a festival (``端午那天``: its Gregorian day in the child's year)."""
    cands: list[tuple[int, tuple[int, int | None]]] = []
    for m in _REF_DATE.finditer(near):
        mo, da = cn_number(m.group("month")), cn_number(m.group("day"))
        if mo and da:
            cands.append((m.start(), (mo, da)))
    for m in _FESTIVAL_NAMED.finditer(near):
        d = _festival_day(m.group(0), child)
        if d is not None:
            cands.append((m.start(), d))
    if not cands and child.date is not None:
        for m in _DAY_ONLY.finditer(near):
            da = int(m.group("day"))
            mo = child.date.month if da <= child.date.day else (child.date.month - 2) % 12 + 1
            cands.append((m.start(), (mo, da)))
    if not cands:
        for m in _MONTH_NAMED.finditer(near):
            g = m.group("month")
            mo = cn_number(g)
            if mo:
                cands.append((m.start(), (mo, None)))
    if not cands:
        return None
    # the day nearest the name: the last one before it, the first one after it
    return max(cands)[1] if before else min(cands)[1]


def _festival_day(name: str, child: Entry) -> tuple[int, int] | None:
    """The Gregorian ``(month, day)`` of a festival (端午, 中秋, 元旦) in the child's year
    (the one before when it would fall after the child)."""
    from minqing.classify.dates import FESTIVALS, HOLIDAYS, lunar_to_solar

    if child.date is None:
        return None
    if name in HOLIDAYS:
        return HOLIDAYS[name]
    if name not in FESTIVALS:
        return None
    month, day = FESTIVALS[name]
    d = lunar_to_solar(month, day, False, None, None, following=child.date)
    return None if d is None else (d.month, d.day)


def _festival_names() -> re.Pattern[str]:
    from minqing.classify.dates import FESTIVALS, HOLIDAYS

    names = sorted({*FESTIVALS, *HOLIDAYS} - {"小年"}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, names)))


_FESTIVAL_NAMED = _festival_names()


def _diary_citations(child: Entry, cbook: str, aliases, townships) -> dict[str, list[str]]:
    """Other books of the child's township whose cadre the child names, with the day
    (``(month, day or None)``) written next to the name: after it (``李明3月12日记的``,
    ``唐书记九月里报的``, ``杨书记端午那天记的``) or right before it (``6月8号镇里周主任来说的``,
    ``17号镇周主任来查``)."""
    town = townships.get(cbook)
    if not town:
        return {}
    text = _body(child)
    own = set(aliases.get(cbook, ()))
    out: dict[str, list] = {}
    for b, names in aliases.items():
        if b == cbook or townships.get(b) != town or set(names) & own:
            continue
        for name in names:
            for m in re.finditer(re.escape(name), text):
                when = _cited_day(text[m.end() : m.end() + 24], child, before=False)
                if when is None:
                    head = text[max(0, m.start() - 12) : m.start()]
                    head = re.split(r"[。；;！？]", head)[-1]  # within the sentence
                    when = _cited_day(head, child, before=True)
                if when is not None:  # a colleague named without a day is no citation
                    out.setdefault(b, []).append((name, when))
    return {b: sorted(v, key=lambda x: x[1][1] is None) for b, v in out.items()}


def _citation_bonus(cites, parent: Entry) -> tuple[float, list[str]]:
    """What a citation of the parent's book adds to the parent's score."""
    if not cites:
        return 0.0, []
    best = (CITE_NAME, [f"diary:{cites[0][0]}"])  # the cadre's book, another day
    for name, when in cites:
        if when is None or parent.date is None:
            continue
        month, day = when
        if day is not None and (month, day) == (parent.date.month, parent.date.day):
            return CITE_DAY, [f"diary:{name}:{month}月{day}日"]
        if day is None and month == parent.date.month and best[0] < CITE_MONTH:
            best = (CITE_MONTH, [f"diary:{name}:{month}月"])
    return best


def _continuations(books, cadres) -> dict[tuple[str, int], tuple[str, int]]:
    """``(book, 1)`` → the last entry of the same cadre's previous notebook, for a book
    whose first entry has no date line of its own (its date inferred or missing)."""
    spans = {}
    for b, entries in books.items():
        dates = [e.date for e in entries if e.date is not None]
        if entries and dates:
            spans[b] = (min(dates), max(dates))
    out = {}
    for b, entries in books.items():
        name = cadres.get(b)
        if not entries or not name or b not in spans:
            continue
        first = entries[0]
        if first.date is not None and not first.date_inferred:
            continue
        prev = [o for o in books if o != b and cadres.get(o) == name and o in spans
                and spans[o][1] <= spans[b][0]]  # fmt: skip
        if prev:
            p = max(prev, key=lambda o: spans[o][1])
            out[(b, first.seq)] = (p, books[p][-1].seq)
    return out


def _when(ents, keys, book_rank, i):
    e = ents[i]
    return (e.date or dt.date.max, book_rank[keys[i][0]], keys[i][1])


def _pick(scored, cross_of, threshold) -> int | None:
    """The best candidate at or above ``threshold``; the same book's unless another's is
    clearly better (:data:`CROSS_BOOK_MARGIN`)."""
    best = None
    for cross in (False, True):
        pool = [
            (sv[0], pi) for pi, sv in scored.items() if cross_of[pi] == cross and sv[0] >= threshold
        ]
        if not pool:
            continue
        top = max(pool)
        if best is None or top[0] > best[0] + CROSS_BOOK_MARGIN:
            best = top
    return None if best is None else best[1]


def _matter_of(i: int, parent_of: Mapping[int, int]) -> list[int]:
    """Members of the matter of entry ``i`` linked so far (root first, then the rest)."""
    root, seen = i, set()
    while root in parent_of and root not in seen:
        seen.add(root)
        root = parent_of[root]
    members = [root]
    children: dict[int, list[int]] = {}
    for c, p in parent_of.items():
        children.setdefault(p, []).append(c)
    stack = [root]
    while stack:
        for c in children.get(stack.pop(), []):
            if c not in members:
                members.append(c)
                stack.append(c)
    return members


def _open(i: int, ents, parent_of, ci: int) -> bool:
    """Whether the matter of candidate ``i`` had no result before child ``ci``."""
    child = ents[ci]
    members = [
        m for m in _matter_of(i, parent_of)
        if m != ci and (ents[m].date is None or child.date is None or ents[m].date <= child.date)
    ]  # fmt: skip
    if not members:
        # every entry of that matter is dated after the child (pages in reverse order, a
        # misfiled page): the matter did not exist yet, so it cannot be the one followed up
        return False
    far = dt.date.min
    latest = max(members, key=lambda m: (ents[m].date or far, m))
    return ents[latest].status not in ("resolved", "explained")


def _latest_member(i: int, ents, parent_of, ci: int, keys, book_rank) -> int:
    """The latest entry of candidate ``i``'s matter that is not later than child ``ci``."""
    child = ents[ci]
    members = [
        m for m in _matter_of(i, parent_of)
        if m != ci and ents[m].date is not None and child.date is not None
        and ents[m].date <= child.date
    ]  # fmt: skip
    own = [m for m in members if keys[m][0] == keys[ci][0]]
    members = own or [m for m in members if keys[m][0] == keys[i][0]]
    if not members:
        return i
    return max(members, key=lambda m: (ents[m].date, keys[m][1]))


def _within(parent: Entry, child: Entry, days: int) -> bool:
    if parent.date is None or child.date is None:
        return False
    return 0 <= (child.date - parent.date).days <= days


def _sim_of(evidence: Sequence[str]) -> float:
    for e in evidence:
        if e.startswith("sim:"):
            return float(e[4:])
    return 0.0


def _not_later(parent: Entry, child: Entry) -> bool:
    if parent.date is None or child.date is None:
        return False
    return parent.date <= child.date


def _score(ci, pi, ents, info, sim, refs, phrases) -> tuple[float, list[str]]:
    child, parent = ents[ci], ents[pi]
    score = 0.0
    ev: list[str] = []
    if parent.date is not None and child.date is not None and parent.date > child.date:
        return 0.0, []
    if parent.date is not None:
        for y, m, d in refs:
            if (m, d) == (parent.date.month, parent.date.day) and (
                y is None or y == parent.date.year
            ):
                score += 0.45
                ev.append(f"date:{m}月{d}日")
                break
    cp, cpl = info[ci]
    pp, ppl = info[pi]
    shared_people = sorted(_overlap(cp, pp))
    shared_places = sorted(_overlap(cpl, ppl))
    score += min(0.45, 0.3 * len(shared_people)) + min(0.15, 0.1 * len(shared_places))
    ev += [f"person:{p}" for p in shared_people[:3]] + [f"place:{p}" for p in shared_places[:2]]
    s = sim(ci, pi)
    score += 0.6 * s
    ev.append(f"sim:{s:.2f}")
    shared = phrases.shared(ci, pi) if phrases is not None else []
    # a phrase around a name already counted (钱凤英家) is not more evidence
    shared = [p for p in shared if not any(x in p for x in (*shared_people, *shared_places))]
    if shared:
        score += min(PHRASE_MAX, PHRASE_WEIGHT * sum(len(p) - PHRASE_N + 1 for p in shared))
        ev += [f"phrase:{p}" for p in shared[:2]]
    if child.category_code == parent.category_code and child.category_code != 8:
        score += 0.05
        ev.append("category")
    if child.date is not None and parent.date is not None:
        days = (child.date - parent.date).days
        score += 0.05 * math.exp(-days / 60.0)
    if not shared_people and not shared and not any(e.startswith("date:") for e in ev) and s < 0.08:
        score *= 0.5  # nothing specific in common
    return score, ev


def _overlap(a: set[str], b: set[str]) -> set[str]:
    out = set(a & b)
    for x in a:
        for y in b:
            if x != y and min(len(x), len(y)) >= 2 and (x in y or y in x):
                out.add(min(x, y, key=len))
    return out


def matters(
    books: Mapping[str, Sequence[Entry]], links: Sequence[Link]
) -> dict[tuple[str, int], Matter]:
    """The matter of every entry: its root entry, the matter's status and whether it is open.

    A matter is a chain: a root entry and the entries that follow it up (through
    ``links``). Its status is that of its latest entry (by date, then book order); it is
    open while that status records no result (not ``resolved`` or ``explained``).
    """
    parent = {lk.child: lk.parent for lk in links}
    by_key = {(b, e.seq): e for b, entries in books.items() for e in entries}

    def root(k):
        seen = set()
        while k in parent and k not in seen and parent[k] in by_key:
            seen.add(k)
            k = parent[k]
        return k

    members: dict[tuple[str, int], list[tuple[str, int]]] = {}
    for k in by_key:
        members.setdefault(root(k), []).append(k)
    out: dict[tuple[str, int], Matter] = {}
    far = dt.date.min
    for r, ks in members.items():
        latest = max(ks, key=lambda k: (by_key[k].date or far, k != r, k))
        status = by_key[latest].status
        m = Matter(
            root=r,
            status=status,
            open=status not in ("resolved", "explained"),
            members=tuple(sorted(ks, key=lambda k: (by_key[k].date or far, k))),
            latest=latest,
        )
        for k in ks:
            out[k] = m
    assert all(m.status in STATUSES for m in out.values())
    return out


#: a follow-up whose strongest category has at most this lexicon weight takes its matter's
INHERIT_MAX_OWN = 2.0


def inherit_categories(
    books: Mapping[str, Sequence[Entry]],
    links: Sequence[Link],
    *,
    confirmed: Collection[tuple[str, int]] = (),
) -> dict[str, list[Entry]]:
    """The entries of ``books`` with linked follow-ups taking their matter's category.

    A follow-up that names no category word of its own ("回访李家，院墙已经砌好"), or
    only one weak word (lexicon weight at most :data:`INHERIT_MAX_OWN`: 硬化 in
    "上次反映的进村路硬化问题"), is about its matter: it takes its parent's category
    (the parent's own, possibly inherited in turn), with evidence
    ``inherited:<parent entry id>`` (``book:seq``, the archive's entry id). Entries in
    ``confirmed`` (``(book_id, seq)`` whose category a reviewer confirmed) and
    follow-ups with clear category words of their own are returned unchanged. Entries are
    frozen: changed ones are new objects; the input is untouched.
    """
    parent = {lk.child: lk for lk in links}
    current = {(b, e.seq): e for b, entries in books.items() for e in entries}
    keep = set(confirmed)

    def resolve(key, seen):
        lk = parent.get(key)
        e = current[key]
        if lk is None or key in keep or key in seen or lk.parent not in current:
            return e
        if max(lexicon_scores(e.text)[0].values()) > INHERIT_MAX_OWN:
            return e  # the follow-up says clearly what it is about
        p = resolve(lk.parent, seen | {key})
        if p.category_code == 8 or p.category_code == e.category_code:
            return e
        new = replace(
            e,
            category_code=p.category_code,
            category_score=round(min(1.0, p.category_score, lk.score), 4),
            category_evidence=(f"inherited:{lk.parent[0]}:{lk.parent[1]:03d}",),
        )
        current[key] = new
        return new

    for key in list(current):
        resolve(key, frozenset())
    return {b: [current[(b, e.seq)] for e in entries] for b, entries in books.items()}
