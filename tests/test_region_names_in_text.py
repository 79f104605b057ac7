"""The region names a text holds (transforms.regions.region_names_in): from left to right, each the longest name
starting where it does, none inside another, as one regex of every name tried longest first would find them."""

from __future__ import annotations

import random
import re

from transforms.regions import _name_index, region_names_in


def test_each_position_takes_its_longest_name_and_names_do_not_overlap():
    assert region_names_in("淮安市洪泽区人民政府") == ["淮安市", "洪泽区"]
    assert region_names_in("淮安的") == ["淮安"] and region_names_in("淮安市") == ["淮安市"]
    assert region_names_in("北京市朝阳区和长春市朝阳区") == ["北京市", "朝阳区", "长春市", "朝阳区"]
    assert region_names_in("") == [] and region_names_in("政府信息公开") == []


def test_the_names_are_those_one_regex_of_every_name_finds():
    names = sorted(_name_index(), key=len, reverse=True)
    every_name = re.compile("|".join(re.escape(name) for name in names))
    rng = random.Random(17)
    for _ in range(300):
        text = "".join(rng.choices(names, k=rng.randint(1, 5)) + rng.choices("市县区省州盟新东南人民政府", k=rng.randint(0, 5)))
        cut = rng.randint(0, len(text))
        text = text[cut:] + text[:cut]  # names cut in two, and names across the cut
        assert region_names_in(text) == every_name.findall(text), text
