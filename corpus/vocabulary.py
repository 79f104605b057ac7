"""The words of synthetic reports: agencies, sites, headings, prose and the label spellings real reports use.

Label variants follow DOMAIN.md: half- and full-width brackets, stray spaces, the typos
行政止公开, 行政法复议 and 三是, and the longer 五、 heading. Labels themselves come from
template_cells.csv so the generator and the warehouse can never disagree on a cell.
"""

from __future__ import annotations

import random

# (prefecture-level city, its counties and districts). Real names, so titles look like real titles.
REGIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("忻州市", ("繁峙县", "代县", "五台县", "原平市", "忻府区")),
    ("鹤岗市", ("萝北县", "绥滨县", "向阳区", "工农区")),
    ("眉山市", ("洪雅县", "丹棱县", "青神县", "东坡区", "彭山区")),
    ("晋中市", ("平遥县", "介休市", "灵石县", "榆次区", "祁县")),
    ("无锡市", ("宜兴市", "江阴市", "梁溪区", "滨湖区", "惠山区")),
    ("抚州市", ("临川区", "东乡区", "南城县", "黎川县", "崇仁县")),
    ("巴彦淖尔市", ("乌拉特中旗", "乌拉特前旗", "杭锦后旗", "五原县", "磴口县")),
    ("平顶山市", ("舞钢市", "汝州市", "宝丰县", "叶县", "鲁山县", "郏县")),
    ("六盘水市", ("钟山区", "水城区", "盘州市", "六枝特区")),
    ("宿州市", ("埇桥区", "砀山县", "萧县", "灵璧县", "泗县")),
    ("赣州市", ("章贡区", "南康区", "赣县区", "信丰县", "瑞金市", "于都县")),
    ("衡阳市", ("耒阳市", "常宁市", "衡南县", "衡东县", "祁东县")),
    ("绵阳市", ("涪城区", "游仙区", "江油市", "三台县", "盐亭县", "梓潼县")),
    ("洛阳市", ("栾川县", "嵩县", "汝阳县", "宜阳县", "洛宁县", "伊川县", "偃师区")),
    ("黄山市", ("屯溪区", "黄山区", "歙县", "休宁县", "黟县", "祁门县")),
    ("大理白族自治州", ("大理市", "祥云县", "宾川县", "弥渡县", "巍山彝族回族自治县")),
    ("延边朝鲜族自治州", ("延吉市", "图们市", "敦化市", "珲春市", "龙井市", "和龙市", "汪清县")),
    ("上饶市", ("信州区", "广丰区", "鄱阳县", "婺源县", "余干县", "万年县")),
    ("保定市", ("涞水县", "涞源县", "阜平县", "定兴县", "唐县", "高阳县", "涿州市")),
)
PROVINCES = ("山西省", "黑龙江省", "四川省", "江苏省", "江西省", "内蒙古自治区", "河南省", "贵州省", "安徽省", "湖南省")
DEPARTMENTS = (
    "教育局", "教育科技局", "教育体育局", "教体局", "市场监督管理局", "人民政府办公室", "住房和城乡建设局",
    "农业农村局", "自然资源局", "自然资源和规划局", "卫生健康局", "卫生健康委员会", "财政局", "公安局",
    "生态环境局", "人力资源和社会保障局", "交通运输局", "水利局", "民政局", "司法局", "商务局",
    "文化和旅游局", "应急管理局", "退役军人事务局", "医疗保障局", "统计局", "审计局", "发展和改革局",
    "林业局", "城市管理局", "行政审批局", "信访局", "民族宗教事务局", "供销合作社联合社", "政务服务管理局",
)
PROVINCIAL_DEPARTMENTS = ("教育厅", "公安厅", "财政厅", "自然资源厅", "生态环境厅", "交通运输厅", "卫生健康委员会", "统计局")
TOWNSHIP_KINDS = ("镇人民政府", "乡人民政府", "街道办事处")
TOWNSHIPS = ("城关", "砂河", "新城", "东关", "南关", "太平", "长乐", "永安", "红旗", "和平", "柳林", "石桥", "白沙")


def agency(rng: random.Random) -> str:
    """A plausible issuing agency: mostly county and city bureaus, some townships and provincial departments."""
    city, counties = REGIONS[rng.randrange(len(REGIONS))]
    roll = rng.random()
    if roll < 0.08:
        return PROVINCES[rng.randrange(len(PROVINCES))] + rng.choice(PROVINCIAL_DEPARTMENTS)
    if roll < 0.30:
        return city + rng.choice(DEPARTMENTS)
    county = rng.choice(counties)
    if roll < 0.40:
        return county + rng.choice(TOWNSHIPS) + rng.choice(TOWNSHIP_KINDS)
    prefix = city if county.endswith("区") and rng.random() < 0.5 else ""
    return prefix + county + rng.choice(DEPARTMENTS)


def site_name(agency_name: str) -> str:
    """The government site that publishes the report: the agency's own county or city government."""
    for city, counties in REGIONS:
        for county in counties:
            if county in agency_name:
                return county + "人民政府"
        if agency_name.startswith(city):
            return city + "人民政府"
    return next((p for p in PROVINCES if agency_name.startswith(p)), "中国政府网") + "人民政府"


# ---- section headings ------------------------------------------------------------------

HEADINGS: dict[str, tuple[str, ...]] = {
    "overview": ("一、总体情况",),
    "active": ("二、主动公开政府信息情况",),
    "requests": ("三、收到和处理政府信息公开申请情况", "三是收到和处理政府信息公开申请情况"),
    "review": ("四、政府信息公开行政复议、行政诉讼情况", "四、政府信息公开行政复议和行政诉讼情况"),
    "problems": ("五、存在的主要问题及改进情况", "五、政府信息公开工作存在的主要问题及改进措施"),
    "other": ("六、其他需要报告的事项",),
}
#: Weight of the first (standard) spelling of each heading; the others share the rest.
STANDARD_HEADING_SHARE = 0.9


def heading(rng: random.Random, section: str) -> str:
    spellings = HEADINGS[section]
    if len(spellings) == 1 or rng.random() < STANDARD_HEADING_SHARE:
        return spellings[0]
    return rng.choice(spellings[1:])


# ---- prose -----------------------------------------------------------------------------

INTRO = (
    "本报告依据《中华人民共和国政府信息公开条例》（以下简称《条例》）和《国务院办公厅政府信息与政务公开办公室关于印发"
    "〈中华人民共和国政府信息公开工作年度报告格式〉的通知》要求编制。全文包括总体情况、主动公开政府信息情况、收到和处理"
    "政府信息公开申请情况、政府信息公开行政复议和行政诉讼情况、存在的主要问题及改进情况、其他需要报告的事项。本报告所列"
    "数据的统计期限自{year}年1月1日起至{year}年12月31日止。如对本报告有疑问，请与{agency}办公室联系。"
)
OVERVIEW = (
    "{year}年，{agency}坚持以习近平新时代中国特色社会主义思想为指导，认真贯彻落实《条例》和上级关于政务公开工作的部署要求，"
    "围绕中心工作，持续深化政务公开，不断提升政务公开质量和实效。",
    "（一）主动公开。全年通过政府门户网站主动公开政府信息{published}条，其中机构职能类信息{small}条，政策文件类信息{medium}条，"
    "及时公开财政预决算、重大建设项目、公共资源配置等重点领域信息。",
    "（二）依申请公开。全年新收政府信息公开申请{received}件，所有申请均在法定期限内答复，未收取信息处理费。",
    "（三）政府信息管理。严格落实政府信息公开保密审查制度，坚持“先审查、后公开”和“一事一审”原则，全年未发生泄密事件。",
    "（四）平台建设。依托政府门户网站政府信息公开专栏，按照统一目录规范发布信息；通过政务新媒体发布信息{medium}余条，及时回应群众关切。",
    "（五）监督保障。调整充实政务公开工作领导小组，明确办公室为政务公开工作机构，将政务公开工作纳入年度绩效考核，全年组织业务培训{small}次。",
)
PROBLEMS = (
    "{year}年，我单位政务公开工作取得了一定成效，但仍存在一些不足：一是政策解读形式较为单一；二是部分科室对政务公开工作"
    "重视程度不够，信息报送不够及时；三是依申请公开答复的规范化水平有待进一步提升。",
    "针对上述问题，{next_year}年将着重做好以下工作：一是丰富解读形式，提升解读质量；二是加强督促检查，确保信息公开及时准确；"
    "三是加强业务培训，规范依申请公开办理流程。",
)
OTHER = (
    "（一）本年度未收取政府信息公开信息处理费。",
    "（二）人大代表建议和政协提案办理情况。{year}年共承办人大代表建议{small}件、政协提案{small}件，均已按期办结。",
    "（三）落实上级年度政务公开工作要点情况。对照年度政务公开工作要点逐项细化任务，各项工作均按时完成。",
)

# ---- label spellings -------------------------------------------------------------------

_FULL_TO_HALF_BRACKETS = str.maketrans({"（": "(", "）": ")"})


def bracket_style(label: str, half_width: bool, spaced: bool) -> str:
    """（一）予以公开 as printed: half-width brackets '(一)', a space after a leading bracket, as in seed 002."""
    if spaced and label.startswith("（"):
        label = label.replace("）", "） ", 1)
    return label.translate(_FULL_TO_HALF_BRACKETS) if half_width else label


def numbered(label: str, style: int) -> str:
    """'1.属于国家秘密' as printed: '1.', '1. ' or the full-width '1．'."""
    if len(label) > 2 and label[1] == ".":
        return label[0] + ("." if style == 0 else ". " if style == 1 else "．") + label[2:]
    return label


#: Typos DOMAIN.md lists, keyed by the canonical label they replace.
TYPOS = {
    "2.其他法律行政法规禁止公开": "2.其他法律行政止公开",
    "行政复议": "行政法复议",
}
