"""Strings for text test cards: broadcast-style English captions, digit strings, Chinese captions.

The sentences are written for srkit (news tickers, sports captions, programme titles), so the kit
carries no third-party text. Digit strings are generated from a seeded numpy Generator in the
formats a TV picture shows: scores, clock times, prices, dates, percentages and phone numbers.
"""
from __future__ import annotations

import numpy as np

ENGLISH_SENTENCES = (
    "Breaking news from the city centre",
    "The weather will stay dry until Friday",
    "Live coverage of the final match",
    "Heavy rain is expected along the coast",
    "The museum reopens after two years",
    "Tonight at nine on channel four",
    "Interview with the winning coach",
    "Traffic is moving slowly on the bridge",
    "A new bridge opens to the public",
    "Classic films restored for a new audience",
    "Farmers welcome the early harvest",
    "The orchestra returns to the old hall",
    "Snow closes the mountain road",
    "Students design a solar powered boat",
    "Markets close higher after a quiet day",
    "Documentary about the river delta",
    "Next week the festival moves outdoors",
    "Quiz show champions meet again",
)

CHINESE_SENTENCES = (
    "今天天气晴朗适合出行",
    "新闻联播现在开始",
    "城市交通运行平稳",
    "体育比赛进入决赛阶段",
    "欢迎收看晚间新闻",
    "博物馆将于明天重新开放",
    "经典电影修复后再次上映",
    "明天有小雨请注意出行安全",
    "农民迎来丰收的季节",
    "音乐会在老剧院举行",
    "学生设计了一艘太阳能船",
    "山区道路因大雪关闭",
    "节目将在晚上九点播出",
    "市场今天小幅上涨",
    "河流三角洲纪录片",
    "下周文化节移到户外",
)


def _score(rng: np.random.Generator) -> str:
    return f"{rng.integers(0, 10)}:{rng.integers(0, 10)}"


def _clock(rng: np.random.Generator) -> str:
    if rng.random() < 0.5:
        return f"{rng.integers(0, 24):02d}:{rng.integers(0, 60):02d}"
    return f"{rng.integers(0, 24):02d}:{rng.integers(0, 60):02d}:{rng.integers(0, 60):02d}"


def _price(rng: np.random.Generator) -> str:
    whole = int(rng.integers(1, 100000))
    return f"{whole:,}.{rng.integers(0, 100):02d}"


def _date(rng: np.random.Generator) -> str:
    return f"{rng.integers(1950, 2031)}-{rng.integers(1, 13):02d}-{rng.integers(1, 29):02d}"


def _percent(rng: np.random.Generator) -> str:
    return f"{rng.integers(0, 100)}.{rng.integers(0, 10)}%"


def _phone(rng: np.random.Generator) -> str:
    return f"{rng.integers(10, 1000):03d}-{rng.integers(1000, 10000)} {rng.integers(1000, 10000)}"


DIGIT_FORMATS = (_score, _clock, _price, _date, _percent, _phone)


def digit_string(rng: np.random.Generator, n_fields: int = 2) -> str:
    """A caption of ``n_fields`` digit fields (scores, times, prices, dates...) joined by spaces.

    Args:
        rng: numpy Generator (the result depends only on its state).
        n_fields: number of fields, >= 1 (default 2, e.g. ``"21:45 1,299.07"``).
    """
    picks = rng.integers(0, len(DIGIT_FORMATS), size=n_fields)
    return "   ".join(DIGIT_FORMATS[i](rng) for i in picks)


def sample_text(script: str, rng: np.random.Generator) -> str:
    """One caption for ``script`` ('latin' | 'digits' | 'chinese'), chosen with ``rng``."""
    if script == "latin":
        return ENGLISH_SENTENCES[int(rng.integers(len(ENGLISH_SENTENCES)))]
    if script == "digits":
        return digit_string(rng)
    if script == "chinese":
        return CHINESE_SENTENCES[int(rng.integers(len(CHINESE_SENTENCES)))]
    raise ValueError(f"script must be 'latin', 'digits' or 'chinese', got {script!r}")
