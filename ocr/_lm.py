"""A character-bigram language model for re-decoding CTC output.

Built from jieba's dictionary (``jieba/dict.txt``: ~350k words with frequencies),
plus a small domain vocabulary of diary words (categories, village affairs) so that
words such as 低保 and 宅基地 are favoured. Bigrams are counted inside words only,
weighted by word frequency; the probability is interpolated with the unigram so that
unseen pairs are merely unlikely. Building takes about a second, so the counts are
cached (pickle) in the cache folder (:func:`minqing.paths.cache_dir`, which honours
``MINQING_CACHE``), keyed on the dictionary's size and mtime.
"""

from __future__ import annotations

import importlib.util
import itertools
import math
import os
import pickle
from collections import defaultdict
from pathlib import Path

from minqing.ocr.normalize import is_cjk
from minqing.paths import cache_dir

_VERSION = 1

#: domain words (weight = a jieba-like frequency): the eight categories and their
#: typical content (DESIGN.md), and the record -> handle -> feedback vocabulary
DOMAIN_WORDS = [
    "民情日记",
    "一事一记",
    "走访",
    "回访",
    "反馈",
    "办理",
    "办理结果",
    "督办",
    "汇编成册",
    "村民",
    "群众",
    "村干部",
    "乡镇",
    "村委会",
    "村两委",
    "农村经济发展",
    "产业结构调整",
    "村级集体经济",
    "农民增收致富",
    "村级组织建设",
    "党员教育管理",
    "发展农村新党员",
    "村务民主管理",
    "村民自治",
    "村务公开",
    "财务管理",
    "民主理财",
    "干部作风",
    "农村矛盾纠纷",
    "土地承包",
    "征地补偿费",
    "分配",
    "用水纠纷",
    "邻里纠纷",
    "突发性事件",
    "群众关注",
    "热点难点",
    "社会治安",
    "农民负担",
    "低保",
    "住房难",
    "饮水难",
    "读书难",
    "看病难",
    "行路难",
    "精神文明建设",
    "文化教育卫生",
    "计划生育",
    "移风易俗",
    "文明村",
    "文明户",
    "村容村貌整治",
    "四通五改",
    "治理脏乱差",
    "美化环境",
    "节约保护耕地",
    "宅基地",
    "调解",
    "调解协议",
    "勘察",
    "水利站",
    "饮水井",
    "安全饮水",
    "低保户",
    "五保户",
    "危房改造",
    "医疗保险",
    "养老保险",
    "合作医疗",
    "扶贫",
    "脱贫",
    "困难户",
    "慰问",
    "上访",
    "信访",
    "张榜公示",
    "村民代表",
    "村民代表会议",
    "党员大会",
    "组长",
    "村主任",
    "支部书记",
    "驻村干部",
    "包村干部",
    "乡政府",
    "镇政府",
    "县里",
    "反映",
    "解决",
    "协调",
    "答复",
    "落实",
    "跟踪",
    "现场",
    "测量",
    "修路",
    "道路",
    "硬化",
    "路灯",
    "自来水",
    "灌溉",
    "水渠",
    "化肥",
    "种子",
]
_DOMAIN_FREQ = 2000


def _dict_path() -> Path:
    # located without importing jieba (a quarter of a second): engine_id needs only this
    spec = importlib.util.find_spec("jieba")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("No module named 'jieba'; install it with: pip install jieba")
    return Path(spec.origin).parent / "dict.txt"


def _cache_file(src: Path) -> Path:
    st = src.stat()
    return cache_dir() / f"charlm-v{_VERSION}-{st.st_size}-{int(st.st_mtime)}.pickle"


def _count(src: Path) -> tuple[dict[str, int], dict[str, int]]:
    bi: defaultdict[str, int] = defaultdict(int)
    uni: defaultdict[str, int] = defaultdict(int)
    with src.open(encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 2:
                continue
            _add(parts[0], int(parts[1]), uni, bi)
    for w in DOMAIN_WORDS:
        _add(w, _DOMAIN_FREQ, uni, bi)
    return dict(uni), dict(bi)


def _add(word: str, freq: int, uni: dict, bi: dict) -> None:
    for c in word:
        uni[c] += freq
    for a, b in itertools.pairwise(word):
        bi[a + b] += freq


class CharBigramLM:
    """``logp(prev, char)``: log P(char | prev), interpolated with the unigram.

    Characters that are not CJK ideographs (digits, Latin, punctuation) get a flat
    log probability, so the model neither favours nor punishes them strongly.
    """

    def __init__(self, uni: dict[str, int], bi: dict[str, int], smoothing: float = 50.0) -> None:
        self.uni = uni
        self.bi = bi
        self.total = float(sum(uni.values()))
        self.k = smoothing
        self._floor = math.log(0.5 / self.total)
        #: log probability given to non-CJK characters
        self.other = math.log(1e-4)
        self._cache: dict[str, float] = {}
        #: entropy of the unigram distribution (nats): the LM's average cost per
        #: character. The decoder adds it back per character as an insertion bonus,
        #: so that the LM re-ranks characters without favouring dropped ones.
        self.mean_cost = -sum(
            (n / self.total) * math.log(n / self.total) for n in uni.values() if n
        )

    @classmethod
    def load(cls) -> CharBigramLM:
        """Build from jieba's dictionary (cached on disk after the first build)."""
        src = _dict_path()
        cache = _cache_file(src)
        try:
            with cache.open("rb") as f:
                uni, bi = pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError, ValueError):
            uni, bi = _count(src)
            try:
                cache.parent.mkdir(parents=True, exist_ok=True)
                tmp = cache.with_suffix(f".{os.getpid()}.tmp")
                with tmp.open("wb") as f:
                    pickle.dump((uni, bi), f, protocol=pickle.HIGHEST_PROTOCOL)
                tmp.replace(cache)
            except OSError:
                pass  # read-only home: build again next time
        return cls(uni, bi)

    def unigram(self, c: str) -> float:
        """log P(c)."""
        if not is_cjk(c):
            return self.other
        n = self.uni.get(c, 0)
        return math.log(n / self.total) if n else self._floor

    def logp(self, prev: str, c: str) -> float:
        """log P(c | prev); ``prev`` is "" at the start of a line."""
        key = prev + c
        v = self._cache.get(key)
        if v is not None:
            return v
        if not is_cjk(c):
            v = self.other
        elif not prev or not is_cjk(prev):
            v = self.unigram(c)
        else:
            pu = math.exp(self.unigram(c))
            v = math.log(
                (self.bi.get(key, 0) + self.k * pu * 1000) / (self.uni.get(prev, 0) + self.k * 1000)
            )
        if len(self._cache) < 500_000:
            self._cache[key] = v
        return v
