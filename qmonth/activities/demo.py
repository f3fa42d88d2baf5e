"""Realistic demo activities for the active campaign (`flask --app app seed-demo --activities N`).

Entries are assembled from the tables below with one `random.Random(seed)`, so the
same N gives the same data, and entry n of a larger run is entry n of a smaller one.
Each row is tagged with form_key "demo-<n>"; a later run skips the keys already
there, so seeding twice adds nothing and a larger N only adds the missing entries.

Rows, their tasks and their audit trail are written with bulk inserts: ten thousand
entries take seconds, not minutes. The scenarios are written for the 2024 catalogue
(kind and figure codes of qmonth/campaigns/2024-shandong.toml); kinds without
scenarios get no demo entries.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import insert, select

from ..extensions import db
from ..main.services import active_campaign
from ..models import Activity, ActivityState, AuditEvent, Role, Unit, User, activity_task
from ..timeutil import LOCAL_TZ

DEFAULT_SEED = 2024
FORM_KEY_PREFIX = "demo-"

# The snapshot is taken a few weeks after the 10 October report deadline.
WINDOW_FIRST = date(2024, 9, 1)
WINDOW_LAST = date(2024, 9, 30)
LAST_REVIEW_DAY = date(2024, 10, 25)
# 2024 public holidays (中秋, 国庆) and the weekend days worked in exchange.
HOLIDAYS = {date(2024, 9, 15), date(2024, 9, 16), date(2024, 9, 17)} | {
    date(2024, 10, day) for day in range(1, 8)}
MAKEUP_WORKDAYS = {date(2024, 9, 14), date(2024, 9, 29), date(2024, 10, 12)}

# city: (phone prefix, digits after it, real districts and counties)
CITIES = {
    "济南": ("0531-8", 7, "历下区 市中区 槐荫区 天桥区 历城区 长清区 章丘区 济阳区 莱芜区 钢城区 平阴县 商河县"),
    "青岛": ("0532-8", 7, "市南区 市北区 黄岛区 崂山区 李沧区 城阳区 即墨区 胶州市 平度市 莱西市"),
    "淄博": ("0533-2", 6, "张店区 淄川区 博山区 临淄区 周村区 桓台县 高青县 沂源县"),
    "枣庄": ("0632-3", 6, "市中区 薛城区 峄城区 台儿庄区 山亭区 滕州市"),
    "东营": ("0546-8", 6, "东营区 河口区 垦利区 利津县 广饶县"),
    "烟台": ("0535-6", 6, "芝罘区 福山区 牟平区 莱山区 蓬莱区 龙口市 莱阳市 莱州市 招远市 栖霞市 海阳市"),
    "潍坊": ("0536-8", 6, "潍城区 寒亭区 坊子区 奎文区 青州市 诸城市 寿光市 安丘市 高密市 昌邑市 临朐县 昌乐县"),
    "济宁": ("0537-2", 6, "任城区 兖州区 曲阜市 邹城市 微山县 鱼台县 金乡县 嘉祥县 汶上县 泗水县 梁山县"),
    "泰安": ("0538-8", 6, "泰山区 岱岳区 新泰市 肥城市 宁阳县 东平县"),
    "威海": ("0631-5", 6, "环翠区 文登区 荣成市 乳山市"),
    "日照": ("0633-8", 6, "东港区 岚山区 五莲县 莒县"),
    "临沂": ("0539-8", 6, "兰山区 罗庄区 河东区 沂南县 郯城县 沂水县 兰陵县 费县 平邑县 莒南县 蒙阴县 临沭县"),
    "德州": ("0534-2", 6, "德城区 陵城区 禹城市 乐陵市 临邑县 平原县 夏津县 武城县 庆云县 宁津县 齐河县"),
    "聊城": ("0635-8", 6, "东昌府区 茌平区 临清市 阳谷县 莘县 东阿县 冠县 高唐县"),
    "滨州": ("0543-3", 6, "滨城区 沾化区 邹平市 惠民县 阳信县 无棣县 博兴县"),
    "菏泽": ("0530-5", 6, "牡丹区 定陶区 曹县 单县 成武县 巨野县 郓城县 鄄城县 东明县"),
}

ROADS = ["建设路", "人民路", "和平路", "解放路", "新华路", "文化路", "胜利路", "工业路", "长江路",
         "黄河路", "泰山路", "学府路", "振兴路", "光明路", "青年路", "东风路", "滨河路", "世纪大道"]
ESTATES = ["锦绣华府", "翡翠湾", "云栖府", "滨河花园", "书香苑", "和园", "玺悦府", "海棠里", "天悦城",
           "学府名苑", "山水华庭", "观澜苑", "悦澜府", "青云里", "春和景明"]
PHASES = ["一", "二", "三"]
COMMUNITIES = ["幸福", "和平", "阳光", "文化", "东苑", "新华", "建设", "朝阳", "金桥", "康乐"]
NATIONAL_ROADS = ["G104", "G105", "G205", "G220", "G308", "G309", "G327", "G342"]


@dataclass(frozen=True)
class Profile:
    """What a kind of bureau works on, in the words its reports use."""

    weight: float  # how many entries such a bureau registers, relatively
    field: str
    audience: str
    venues: tuple[str, ...]
    labs: tuple[str, ...]
    agency: str
    projects: tuple[str, ...]
    co_organisers: tuple[str, ...]
    standards: tuple[str, ...]


PROFILES = {
    "zj": Profile(
        weight=4, field="建设工程",
        audience="建设、施工、监理、检测单位项目负责人和技术骨干",
        venues=("市建设工程质量安全中心报告厅", "市民中心多功能厅", "市建筑业协会培训中心", "市城市建设档案馆报告厅"),
        labs=("市建设工程质量检测中心", "市建筑科学研究院检测实验室"),
        agency="建设工程质量安全监督站",
        projects=("{estate}住宅小区{phase}期工程", "{county}人民医院新院区建设工程", "{county}实验学校新建工程",
                  "{county}保障性租赁住房项目", "{county}城中村改造安置房（{phase}期）项目", "{estate}项目"),
        co_organisers=("市建筑业协会", "市建设工程质量安全中心", "市建设监理协会", "市建设工程质量检测协会"),
        standards=("《建设工程质量管理条例》《山东省建设工程质量管理办法》", "《建设工程质量检测管理办法》",
                   "《建设工程见证检测标准》", "《住宅工程质量常见问题防控技术标准》",
                   "《建筑工程施工质量验收统一标准》"),
    ),
    "cg": Profile(
        weight=2, field="市政公用工程",
        audience="供水、燃气、供热企业及市政施工单位技术人员",
        venues=("市公用事业服务中心培训室", "市燃气热力行业培训基地", "市民中心多功能厅"),
        labs=("市供水水质监测中心",),
        agency="市政工程质量监督站",
        projects=("{county}老旧燃气管道更新改造工程", "{county}供热管网改造工程", "{county}雨污分流改造工程",
                  "{county}{road}道路提升改造工程", "{county}城市地下综合管廊工程"),
        co_organisers=("市城镇供水排水协会", "市燃气热力协会", "市公用事业服务中心", "市市政工程建设中心"),
        standards=("《城镇燃气输配工程施工及验收标准》", "《给水排水管道工程施工及验收规范》",
                   "《城镇供热管网工程施工及验收规范》", "《城镇道路工程施工与质量验收规范》"),
    ),
    "sw": Profile(
        weight=1.5, field="水利工程",
        audience="水利工程项目法人、施工、监理单位相关负责人",
        venues=("市水利工程建设服务中心会议室", "市水利技术培训中心", "市民中心多功能厅"),
        labs=("市水利工程质量检测站",),
        agency="水利工程质量监督站",
        projects=("{county}城区供水管网改造工程", "{county}污水处理厂提标改造工程", "{county}小型水库除险加固工程",
                  "{county}城区河道综合治理工程", "{county}农村供水保障工程"),
        co_organisers=("市水利工程建设质量与安全中心", "市水利学会", "市水利工程建设服务中心"),
        standards=("《水利工程质量管理规定》", "《水利水电工程施工质量检验与评定规程》",
                   "《水利工程建设项目质量管理标准化指南》"),
    ),
    "yl": Profile(
        weight=1.5, field="园林绿化工程",
        audience="园林绿化施工、养护企业技术人员",
        venues=("市园林绿化服务中心会议室", "市园林绿化科研所实训基地", "市民中心多功能厅"),
        labs=("市园林绿化科研所实验室",),
        agency="园林绿化工程质量监督站",
        projects=("{county}口袋公园建设工程", "{county}城市绿道建设工程", "{county}山体公园绿化提升工程",
                  "{county}{road}沿线绿化提升工程"),
        co_organisers=("市风景园林协会", "市园林绿化服务中心"),
        standards=("《园林绿化工程施工及验收规范》", "《园林绿化工程项目规范》", "《城市绿地设计规范》"),
    ),
    "jt": Profile(
        weight=1.5, field="交通建设工程",
        audience="公路、桥梁建设项目参建单位相关负责人",
        venues=("市交通运输事业服务中心会议室", "市公路事业发展中心培训室", "市民中心多功能厅"),
        labs=("市公路工程试验检测中心",),
        agency="交通运输工程质量监督站",
        projects=("{national_road}{county}段改建工程", "{county}农村公路提质改造工程", "{county}城区桥梁改造工程"),
        co_organisers=("市公路事业发展中心", "市交通运输工程质量监督站", "市公路学会"),
        standards=("《公路工程质量检验评定标准》", "《公路工程施工安全技术规范》", "《公路桥涵施工技术规范》"),
    ),
}
ALL = tuple(PROFILES)

KIND_WEIGHTS = {"publicity": 16, "training": 18, "brand": 6, "competition": 8, "site_tour": 14,
                "mass": 7, "agency_evaluation": 5, "testing": 10, "inspection": 16}
KIND_VERBS = {"publicity": "组织开展", "training": "举办", "brand": "召开", "competition": "举办",
              "site_tour": "组织召开", "mass": "组织开展", "agency_evaluation": "组织开展",
              "testing": "组织开展", "inspection": "组织开展"}
KIND_DAYS = {"publicity": (1, 1, 1, 3, 7, 30), "training": (1, 1, 1, 2), "brand": (1,), "competition": (1, 1, 2, 3),
             "site_tour": (1,), "mass": (7, 14, 20, 30), "agency_evaluation": (3, 5, 10, 15),
             "testing": (1, 3, 5), "inspection": (2, 3, 5, 7, 10)}
KIND_PARTICIPANTS = {"publicity": (150, 2500), "training": (60, 480), "brand": (50, 260),
                     "competition": (20, 120), "site_tour": (80, 360), "mass": (120, 1500),
                     "agency_evaluation": (12, 60), "testing": (10, 40), "inspection": (8, 30)}

# Ranges of "int" figures by figure code (a scenario may narrow them).
FIGURE_RANGES = {
    "banners": (10, 260), "reach": (3000, 120000), "class_hours": (2, 16), "cqo_enterprises": (3, 45),
    "cases_published": (2, 18), "contestants": (30, 260), "awards": (6, 40), "attendees": (80, 360),
    "improvements": (5, 60), "inventions": (1, 20), "designs": (2, 25), "innovations": (2, 30),
    "suggestions": (10, 120), "agencies_evaluated": (3, 14), "agencies": (4, 36), "visitors": (60, 600),
    "problems_found": (8, 160), "projects_inspected": (6, 48), "experts": (3, 20),
}
CHOICE_WEIGHTS = {
    "mode": {"线下": 4, "线上线下结合": 4, "线上": 1},
    "level": {"省级": 0.3, "市级": 8, "县级": 2, "企业级": 1},
}


@dataclass(frozen=True)
class Scenario:
    """One kind of entry a bureau writes: its name, what was done, and where.

    `place` is "office" (a venue), "site" (a project), "lab" (a testing lab),
    "community", "field" (several projects) or "agency" (supervision agencies).
    `figures` fixes or narrows figures: a value, an (low, high) range or a list to sample.
    `summary` and `results` replace the kind's sentences; `days` the kind's usual durations.
    """

    kind: str
    depts: tuple[str, ...]
    name: str
    content: str
    place: str = "office"
    verb: str = ""
    figures: dict = field(default_factory=dict)
    summary: str = ""
    results: tuple[str, ...] = ()
    days: tuple[int, ...] = ()


def S(kind, depts, name, content, place="office", **options) -> Scenario:
    """Short constructor, so the table below reads as a list."""
    return Scenario(kind, depts, name, content, place, **options)


SCENARIOS = [
    S("publicity", ALL, "“质量月”{field}质量主题宣传活动",
      "活动围绕“提升建筑品质 共享美好生活”主题，通过{channels_text}等渠道宣传质量月标语，讲述鲜活质量故事，展示质量提升成果。",
      "site"),
    S("publicity", ALL, "“质量月”启动仪式暨质量宣传进工地活动",
      "活动在项目施工现场举行，组织参建单位签订工程质量承诺书，并向一线作业人员发放质量知识手册。", "site"),
    S("publicity", ("zj",), "“提升建筑品质 共享美好生活”主题宣传周活动",
      "宣传周期间，组织各区县住建部门和重点企业开展质量知识进工地、进社区、进企业活动，集中展示全市工程质量提升成果。",
      "community", figures={"channels": ["办公场所", "施工现场", "官方网站", "公众号", "新媒体"]}),
    S("publicity", ("cg",), "市政公用行业“质量月”宣传进社区活动",
      "活动在社区设置宣传咨询台，向居民讲解燃气安全使用、供水水质和供热服务相关知识，现场解答群众咨询。", "community"),
    S("publicity", ("zj", "cg", "sw", "yl", "jt"), "“质量月”质量标语进工地专项宣传活动",
      "在全市在建项目围挡、出入口和生活区集中张贴质量月宣传标语，营造重视质量、追求质量的浓厚氛围。", "field",
      figures={"channels": ["施工现场", "办公场所", "公众号"]}),

    S("training", ALL, "“质量月”{field}质量安全讲堂",
      "讲堂邀请行业专家围绕{standards}进行解读，并结合典型案例讲解质量多发问题防控措施。"),
    S("training", ("zj",), "《建设工程见证检测标准》宣贯培训会",
      "培训会邀请标准起草专家对见证取样、送检和检测报告管理等条文进行逐条解读，并现场解答参训人员提出的问题。",
      figures={"standards": "《建设工程见证检测标准》"}),
    S("training", ("zj",), "住宅工程质量常见问题防治技术培训班",
      "培训围绕渗漏、裂缝、空鼓等住宅工程质量常见问题，讲解成因分析、预防措施和验收要点。",
      figures={"standards": "《住宅工程质量常见问题防控技术标准》"}),
    S("training", ALL, "{field}质量风险分级管控专题培训",
      "培训解读质量风险分级管控相关政策要求，指导企业建立风险辨识、评估和管控清单，落实企业质量主体责任。"),
    S("training", ("zj",), "《建设工程质量检测管理办法》专题解读会",
      "会议对《建设工程质量检测管理办法》修订要点进行解读，重点讲解检测机构资质管理、检测行为规范和法律责任等内容。",
      figures={"standards": "《建设工程质量检测管理办法》"}),
    S("training", ("cg",), "城镇燃气工程施工质量专题培训",
      "培训围绕燃气管道焊接、防腐和压力试验等关键环节，讲解施工质量控制要点和验收标准。",
      figures={"standards": "《城镇燃气输配工程施工及验收标准》"}),
    S("training", ("cg",), "供水管网工程质量提升培训班",
      "培训重点讲解管道基础、接口施工、水压试验和冲洗消毒等环节的质量控制要求。",
      figures={"standards": "《给水排水管道工程施工及验收规范》"}),
    S("training", ("sw",), "水利工程质量管理标准化培训班",
      "培训围绕质量管理标准化建设、施工质量检验与评定等内容进行系统讲解，并组织参训人员开展交流研讨。",
      figures={"standards": "《水利水电工程施工质量检验与评定规程》"}),
    S("training", ("yl",), "园林绿化工程施工质量标准宣贯会",
      "宣贯会对苗木进场验收、种植土质量、栽植及养护等关键环节的质量要求进行了解读。",
      figures={"standards": "《园林绿化工程施工及验收规范》"}),
    S("training", ("jt",), "公路工程质量通病防治培训会",
      "培训围绕路基压实度、沥青路面平整度和桥梁混凝土外观质量等通病，讲解成因与防治措施。",
      figures={"standards": "《公路工程质量检验评定标准》"}),

    S("brand", ("zj",), "建筑业企业“首席质量官”制度推进会",
      "会议通报全市推行“首席质量官”制度情况，已有{cqo_enterprises}家企业设立首席质量官，部分企业代表作交流发言。"),
    S("brand", ALL, "“提质筑安我先行”典型案例交流分享会",
      "会议发布本地区{cases_published}项质量提升典型案例和优秀工法，案例单位围绕质量管控创新做法进行分享。"),
    S("brand", ("zj",), "“齐鲁建造”品牌培育座谈会",
      "座谈会邀请优秀建筑业企业代表交流品牌建设经验，研究推动企业争创优质工程、培育“齐鲁建造”品牌。"),
    S("brand", ("cg", "sw", "yl", "jt"), "优质{field}创建经验交流会",
      "会议邀请创优项目参建单位介绍创建优质工程的经验做法，并发布{cases_published}项典型案例。",
      figures={"cqo_enterprises": (1, 8)}),

    S("competition", ("zj",), "建筑业职业技能竞赛",
      "竞赛设砌筑工、钢筋工、抹灰工等工种，采取理论考试与实操考核相结合的方式进行。",
      figures={"level": ["市级", "县级"]}),
    S("competition", ("zj",), "土木工程检测人员技能竞赛（市级选拔）",
      "竞赛分理论知识和实际操作两部分，优胜选手将代表本市参加第二届山东省土木工程领域检测人员技能竞赛。",
      figures={"level": "市级", "contestants": (30, 90)}),
    S("competition", ALL, "{field}质量知识竞赛",
      "竞赛围绕工程质量法律法规、标准规范和质量管理知识，设置必答、抢答和风险题等环节。"),
    S("competition", ("cg",), "供水行业职业技能竞赛",
      "竞赛设供水管道工、水质检验工两个工种，通过理论考试和实操比武检验一线职工技能水平。"),
    S("competition", ("cg",), "燃气行业职业技能竞赛",
      "竞赛设燃气管网运行工、燃气用户安装检修工两个工种，重点考核安全操作规范和应急处置能力。"),
    S("competition", ("sw",), "水利工程质量检测员技能竞赛",
      "竞赛设置混凝土、岩土和金属结构检测实操项目，全面检验检测人员业务能力。",
      figures={"contestants": (30, 90)}),
    S("competition", ("yl",), "园林绿化工职业技能竞赛",
      "竞赛设置花境营造、绿篱修剪和乔木栽植等比赛项目，集中展现园林绿化工匠风采。"),
    S("competition", ("jt",), "公路工程试验检测技能竞赛",
      "竞赛围绕沥青、集料和混凝土试验检测设置理论与实操考核项目。"),
    S("competition", ("zj",), "“工匠杯”建筑工匠技能大比武",
      "大比武在项目现场设置钢筋绑扎、模板安装和砌筑等比武项目，由专家评委现场打分。", "site",
      figures={"level": ["县级", "企业级"]}),

    S("site_tour", ("zj",), "住宅工程质量常见问题防治现场观摩会",
      "与会人员实地观摩了项目在防渗漏、防开裂和样板引路等方面的做法，项目负责人介绍了质量管控经验。", "site",
      figures={"topics": ["质量多发问题防治", "高品质住宅"]}),
    S("site_tour", ALL, "{field}质量管理标准化现场观摩会",
      "观摩项目展示了工序样板、质量管理标准化手册和实测实量等做法，参观人员现场交流了质量管控经验。", "site",
      figures={"topics": ["质量管理标准化", "质量多发问题防治"]}),
    S("site_tour", ("zj",), "智能建造技术交流观摩会",
      "与会人员观摩了项目应用建筑机器人、BIM技术和智慧工地平台的情况，交流智能建造技术应用经验。", "site",
      figures={"topics": ["智能建造", "质量管理标准化"]}),
    S("site_tour", ("zj",), "住宅工程隔音降噪现场技术交流会",
      "交流会现场展示了楼板浮筑隔声构造、分户墙隔声和管道降噪等做法，并开展了楼板撞击声现场检测演示。", "site",
      figures={"topics": ["隔音降噪", "高品质住宅"]}),
    S("site_tour", ("zj",), "高品质住宅试点项目观摩交流活动",
      "观摩活动展示了试点项目在户型设计、绿色建材应用和精细化施工等方面的做法。", "site", verb="组织开展",
      figures={"topics": ["高品质住宅", "质量管理标准化", "智能建造"]}),
    S("site_tour", ("cg",), "老旧管网改造工程质量现场观摩会",
      "观摩会展示了项目在管材进场验收、沟槽回填和闭水试验等环节的质量控制做法。", "site",
      figures={"topics": ["质量管理标准化", "质量多发问题防治"]}),
    S("site_tour", ("sw",), "水利工程建设质量现场观摩会",
      "观摩会实地察看了项目混凝土浇筑、止水安装和质量检测等施工环节，交流质量管控措施。", "site",
      figures={"topics": ["质量管理标准化", "质量多发问题防治"]}),
    S("site_tour", ("yl",), "园林绿化工程质量现场观摩会",
      "观摩会展示了项目在苗木栽植、土壤改良和海绵设施施工等方面的精细化做法。", "site",
      figures={"topics": ["质量管理标准化"]}),
    S("site_tour", ("jt",), "公路工程品质提升现场观摩会",
      "观摩会展示了路基路面施工标准化和桥梁预制构件质量控制等做法。", "site",
      figures={"topics": ["质量管理标准化", "智能建造"]}),
    S("site_tour", ("zj",), "预拌混凝土质量提升现场技术交流会",
      "会议通报预拌混凝土专项整治情况，与会人员观摩了项目混凝土进场验收、浇筑和养护等环节的质量控制做法。", "site",
      figures={"topics": ["预拌混凝土和检测机构专项整治", "质量多发问题防治"]}),

    S("mass", ("zj",), "建筑业“五小”质量创新成果评选活动",
      "活动征集施工企业在小改进、小发明、小设计、小革新、小建议方面的质量创新成果，经专家评审评选出优秀成果。"),
    S("mass", ALL, "{field}质量管理小组成果发布会",
      "发布会上，各参建单位质量管理小组围绕工程质量难题发布活动成果，专家进行现场点评。", verb="召开", days=(1,)),
    S("mass", ALL, "“弘扬工匠精神 共创精品工程”群众性质量活动",
      "活动组织一线作业人员开展质量合理化建议征集和岗位练兵，评选表彰一批“质量标兵”。", "site"),
    S("mass", ("zj",), "建筑业协会会员单位质量提升特色活动",
      "市建筑业协会发动会员单位开展质量提升特色活动，引导企业推广应用新技术、新工艺。"),

    S("agency_evaluation", ("zj",), "工程质量监督机构监管能力评价",
      "评价组采取查阅资料、现场抽查和座谈询问相结合的方式，对县（市、区）工程质量监督机构履职能力进行评价。", "agency"),
    S("agency_evaluation", ("zj",), "县级工程质量监督机构层级评价暨监督档案互查",
      "按照《山东省房屋市政工程质量监督工作任务清单暨标准化流程》要求，组织各县（市、区）监督机构交叉检查监督档案，查找问题并督促整改。",
      "agency"),
    S("agency_evaluation", ("sw",), "水利工程质量监督机构履职能力评价",
      "评价重点检查质量监督计划制定、监督检查记录和质量问题整改闭环等内容。", "agency",
      figures={"agencies_evaluated": (2, 8)}),
    S("agency_evaluation", ("jt",), "交通建设工程质量监督机构履职评价",
      "评价围绕监督工作制度、监督抽检和信用评价等内容，逐项对照评价指标进行打分。", "agency",
      figures={"agencies_evaluated": (2, 8)}),

    S("testing", ("zj",), "建设工程检测机构“检测开放日”活动",
      "活动组织市民代表、业主代表和媒体记者走进检测实验室，现场观看钢筋拉伸、混凝土抗压等检测试验，面对面听取群众意见建议。",
      "lab", figures={"agencies": (1, 6), "problems_found": 0}, days=(1,),
      summary="活动共有{agencies}家检测机构向社会开放，接待参观群众{visitors}人次。",
      results=("活动让群众近距离感受工程质量检测工作，增进了社会各界对质量工作的理解和支持。",
               "活动收集群众意见建议，进一步提升了检测行业的社会公信力。")),
    S("testing", ("zj",), "“检测开放日”暨检测知识进社区活动",
      "检测机构技术人员走进社区，向居民讲解房屋质量常识和检测知识，现场演示回弹法检测混凝土强度。",
      "community", figures={"agencies": (1, 5), "problems_found": 0}, days=(1,),
      summary="活动共有{agencies}家检测机构参与，接待群众咨询{visitors}人次。",
      results=("活动普及了工程质量检测知识，拉近了检测机构与群众的距离。",)),
    S("testing", ("cg",), "供水水质检测“开放日”活动",
      "活动邀请市民代表参观水质检测实验室，了解从水源到龙头的水质检测流程。",
      "lab", figures={"agencies": (1, 3), "problems_found": 0}, days=(1, 1, 2),
      summary="活动共有{agencies}家检测机构向社会开放，接待参观群众{visitors}人次。",
      results=("活动增进了市民对供水水质保障工作的了解，提升了群众用水满意度。",)),
    S("testing", ("zj",), "建设工程质量检测机构专项检查",
      "检查组对照《建设工程质量检测管理办法》，重点核查检测资质、检测人员、设备管理和检测数据真实性等情况。",
      "field", figures={"visitors": 0}),
    S("testing", ("zj",), "预拌混凝土生产企业及检测机构专项整治检查",
      "检查组对预拌混凝土企业试验室和工程质量检测机构的原材料检验、配合比管理和检测报告出具等环节进行抽查。",
      "field", figures={"visitors": 0}),
    S("testing", ("sw",), "水利工程质量检测单位专项检查",
      "检查重点包括检测资质、检测人员持证上岗、仪器设备检定和检测报告规范性等内容。",
      "field", figures={"visitors": 0, "agencies": (2, 12)}),
    S("testing", ("jt",), "公路水运工程试验检测机构专项检查",
      "检查组对工地试验室和检测机构的人员履约、设备标定和试验记录真实性进行了检查。",
      "field", figures={"visitors": 0, "agencies": (2, 15)}),

    S("inspection", ALL, "{field}质量安全督导检查",
      "检查组采取“四不两直”方式，深入在建项目施工现场，重点检查参建各方质量责任落实和质量多发问题防治情况。", "field"),
    S("inspection", ("zj",), "装配式混凝土建筑质量专项巡查",
      "巡查突出装配式混凝土竖向构件安全性能、预制楼梯预埋螺栓、受弯构件外观质量等重点内容，确保主体结构安全。", "field"),
    S("inspection", ("zj",), "住宅工程质量多发问题专家帮扶行动",
      "选派高水平技术专家深入项目问诊把脉，针对渗漏、裂缝等质量多发问题提出整改建议。", "field"),
    S("inspection", ("zj",), "“消防审验专家行”服务活动",
      "专家团队深入重点项目，对消防设计审查和验收中的常见问题进行现场指导，主动靠前开展服务。", "field",
      figures={"projects_inspected": (3, 15)}),
    S("inspection", ("cg",), "燃气管网工程质量专项检查",
      "检查重点包括管材管件质量、焊口质量、管道埋深和警示标识设置等内容。", "field"),
    S("inspection", ("sw",), "水利工程“专家问诊”质量帮扶活动",
      "专家组深入在建水利工程现场，重点检查混凝土施工质量、原材料检测和质量评定资料。", "field"),
    S("inspection", ("yl",), "园林绿化工程质量专项督导",
      "督导组重点检查苗木规格、种植土质量和栽植成活率等情况，对发现的问题现场交办。", "field"),
    S("inspection", ("jt",), "在建公路工程质量督导检查",
      "检查重点包括路基压实度、路面厚度、桥梁钢筋保护层厚度等实体质量指标。", "field"),
]

# The sentence that gives the kind's figures, and the results it claims.
KIND_SUMMARIES = {
    "publicity": "活动共悬挂横幅、张贴海报{banners}幅，线上线下覆盖{reach}人次。",
    "training": "培训采取{mode}方式，{audience}共{trainees}人次参加，培训{class_hours}学时。",
    "brand": "{audience}代表共{participants}人参加会议。",
    "competition": "本次{level}竞赛共有{contestants}名选手参赛，评出各类奖项{awards}项。",
    "site_tour": "{audience}共{attendees}人次参加，围绕{topics_text}等主题进行了交流。",
    "mass": "活动共征集小改进{improvements}项、小发明{inventions}项、小设计{designs}项、小革新{innovations}项、"
            "小建议{suggestions}项，采纳优秀成果{adopted}项。",
    "agency_evaluation": "本次共评价监督机构{agencies_evaluated}家，形成评价报告并逐一反馈问题清单。",
    "testing": "共检查检测机构{agencies}家，发现问题{problems_found}项，已全部下达整改通知。",
    "inspection": "共督导检查项目{projects_inspected}个，选派专家{experts}人次，发现问题{problems_found}项，"
                  "已完成整改{problems_rectified}项。",
}
KIND_RESULTS = {
    "publicity": ("通过集中宣传，进一步营造了“人人重视质量、人人创造质量”的良好氛围，从业人员质量第一意识明显增强。",
                  "活动将质量宣传延伸到施工一线和社区，推动质量月主题深入人心。"),
    "training": ("参训人员系统学习了{standards}等内容，专业技术素养进一步提升。",
                 "培训提高了企业项目管理人员落实质量风险分级管控的能力，为防控质量多发问题打下基础。"),
    "brand": ("活动发挥了优秀企业的示范引领作用，形成了一批可复制、可推广的质量管理经验。",
              "活动推动企业落实质量主体责任，{cqo_enterprises}家企业已推行“首席质量官”制度。"),
    "competition": ("竞赛检验了一线技术人员的专业技能，营造了比学赶超的良好氛围。",
                    "竞赛发现和培养了一批质量技术技能人才，获奖选手将推荐参加上级竞赛。"),
    "site_tour": ("与会人员表示观摩活动针对性强，为提升工程质量提供了可借鉴的经验。",
                  "观摩活动发挥了优秀项目的标杆示范作用，推动全市{field}质量整体水平提升。"),
    "mass": ("活动激发了企业创新活力，{adopted}项优秀成果已在项目中推广应用。",
             "活动弘扬了劳动精神、工匠精神，调动了一线职工参与质量提升的积极性。"),
    "agency_evaluation": ("通过评价，摸清了各级监督机构监管能力现状，推动监督工作规范化、标准化。",
                          "评价结果已通报各县（市、区），督促监督机构对照问题清单限期整改。"),
    "testing": ("检查进一步规范了检测机构检测行为，督促发现的问题限期整改到位。",
                "对检查中发现问题较多的检测机构进行了约谈，并纳入重点监管。"),
    "inspection": ("督导帮扶推动参建单位落实质量主体责任，问题整改率达到{rate}%。",
                   "对整改不到位的项目实行挂牌督办，确保主体结构质量安全。"),
}
CLOSINGS = (
    "活动坚持自愿参与原则，严格落实中央八项规定精神，未向企业收取任何费用。",
    "{unit}官方网站、微信公众号对活动进行了宣传报道。",
    "活动得到参建单位和一线从业人员的积极响应。",
)
KIND_CO_ORGANISERS = {"competition": ("市总工会", "市人力资源和社会保障局"),
                      "testing": ("市建设工程质量检测协会",), "mass": ("市质量协会",)}

# A key task an entry of a kind often serves too, besides the kind's own.
RELATED_TASKS = {1: (2, 6), 2: (1, 5), 3: (1, 6), 4: (2, 6), 5: (2, 3), 6: (3, 4), 7: (9,), 8: (1, 9), 9: (5, 8)}

STATE_WEIGHTS = {ActivityState.ACCEPTED: 66, ActivityState.SUBMITTED: 12,
                 ActivityState.RETURNED: 13, ActivityState.DRAFT: 9}
HIGHLIGHT_SHARE = 0.18  # of accepted entries
RESUBMITTED_SHARE = 0.12  # of accepted entries: returned once, corrected, then accepted

RETURN_REASONS = (
    "请补充活动现场照片及参与人次统计依据。",
    "活动内容过于简略，请补充活动开展的具体做法和取得的成效。",
    "活动成效表述不具体，请补充可量化的数据。",
    "所选重点任务与活动内容不符，请核实后重新选择。",
    "活动日期与活动通知文件不一致，请核对后修改。",
    "请补充协办单位全称，并核实联系人电话。",
    "照片未体现活动主题，请补充能反映活动现场的照片。",
    "活动名称不规范，请按“单位+活动内容”格式修改。",
    "类型指标填写不完整，请补充后重新报送。",
)

SURNAMES = "王张李刘陈杨赵孙徐马高朱胡郭林何宋郑韩曹于吕魏孔丁房姜崔田鲁曲"
GIVEN_NAMES = ("建国", "志强", "海燕", "晓东", "丽娜", "文静", "鹏飞", "立新", "秀英", "振华", "国栋", "春梅",
               "凯", "伟", "静", "磊", "超", "娜", "婷", "军", "涛", "敏", "鑫", "浩然", "雪梅", "明远",
               "红霞", "庆涛", "宏伟", "晓峰")
MOBILE_PREFIXES = ("134", "135", "136", "137", "138", "139", "150", "151", "152", "155", "158", "159",
                   "177", "178", "182", "185", "186", "187", "188", "189")


class DemoDataError(ValueError):
    """The database lacks what demo entries need (a campaign, its units' accounts)."""


@dataclass
class SeedResult:
    created: int
    existing: int


@dataclass
class Catalogue:
    """What the demo entries are drawn from, loaded once from the database."""

    campaign_id: int
    units: list[Unit]
    unit_weights: list[float]
    authors: dict[int, int]  # unit id -> reporter id
    contacts: dict[int, list[tuple[str, str]]]  # unit id -> [(name, phone)]
    province_id: int
    kinds: dict  # code -> ActivityKind, only kinds with scenarios
    task_ids: dict[int, int]  # task number -> id
    slogans: list[int]
    scenarios: dict[str, tuple[list[Scenario], list[float]]]  # department -> its scenarios and their weights


@dataclass
class Place:
    county: str
    address: str
    venue: str  # the phrase after 在 in the description ("" when held in several places)
    project: str
    site: str  # where the project is, as site plans say: "历城区工业路以东、振兴路以北"


@dataclass
class Planned:
    row: dict
    task_ids: list[int]
    events: list[dict]


def seed_demo_activities(count: int, *, seed: int = DEFAULT_SEED) -> SeedResult:
    """Create entries demo-1 … demo-<count> in the active campaign, skipping those already there."""
    catalogue = _load_catalogue(seed)
    rng = random.Random(seed)
    planned = [_plan(rng, number, catalogue) for number in range(1, count + 1)]
    existing = set(db.session.scalars(
        select(Activity.form_key).where(Activity.form_key.like(f"{FORM_KEY_PREFIX}%"))))
    new = [entry for entry in planned if entry.row["form_key"] not in existing]
    if new:
        _insert(new)
    return SeedResult(created=len(new), existing=count - len(new))


def _insert(planned: list[Planned]) -> None:
    # Core inserts on the tables: every row has the same keys, so each table is one
    # executemany. (The ORM's bulk insert drops None values and splits the rows into
    # thousands of small statements, one per run of rows with the same non-null keys.)
    ids = db.session.scalars(
        insert(Activity.__table__).returning(Activity.__table__.c.id, sort_by_parameter_order=True),
        [entry.row for entry in planned],
    ).all()
    links, events = [], []
    for activity_id, entry in zip(ids, planned, strict=True):
        links += [{"activity_id": activity_id, "task_id": task_id} for task_id in entry.task_ids]
        events += [{**event, "object_id": activity_id} for event in entry.events]
    db.session.execute(insert(activity_task), links)
    db.session.execute(insert(AuditEvent.__table__), events)


def _load_catalogue(seed: int) -> Catalogue:
    campaign = active_campaign()
    if campaign is None:
        raise DemoDataError("no campaign loaded: load one before seeding demo activities")
    # A bureau's reporter account is named by the unit code (see seed-demo).
    reporters = {user.username: user for user in db.session.scalars(select(User).where(User.unit_id.is_not(None)))}
    units = [unit for unit in db.session.scalars(select(Unit).order_by(Unit.position, Unit.id))
             if unit.code in reporters and unit.city in CITIES]
    province = db.session.scalar(select(User).where(User.role == Role.PROVINCE_ADMIN).order_by(User.id))
    kinds = {kind.code: kind for kind in campaign.kinds if any(s.kind == kind.code for s in SCENARIOS)}
    if not units or province is None or not kinds:
        raise DemoDataError("demo activities need the demo accounts and a campaign with the 2024 kinds")
    return Catalogue(
        campaign_id=campaign.id,
        units=units,
        unit_weights=[PROFILES[unit.department.value].weight for unit in units],
        authors={unit.id: reporters[unit.code].id for unit in units},
        contacts={unit.id: _unit_contacts(random.Random(f"{seed}:{unit.code}"), unit.city) for unit in units},
        province_id=province.id,
        kinds=kinds,
        task_ids={task.number: task.id for task in campaign.tasks},
        slogans=[slogan.number for slogan in campaign.slogans],
        scenarios={dept: _weighted_scenarios(dept, kinds) for dept in PROFILES},
    )


def _weighted_scenarios(dept: str, kinds: dict) -> tuple[list[Scenario], list[float]]:
    """A department's scenarios; each kind's weight is split among its scenarios."""
    scenarios = [s for s in SCENARIOS if dept in s.depts and s.kind in kinds]
    siblings = {kind: sum(1 for s in scenarios if s.kind == kind) for kind in kinds}
    return scenarios, [KIND_WEIGHTS.get(s.kind, 5) / siblings[s.kind] for s in scenarios]


def _unit_contacts(rng: random.Random, city: str) -> list[tuple[str, str]]:
    """Two people who report for a bureau, each with an office line or a mobile."""
    prefix, digits, _ = CITIES[city]
    contacts = []
    for _ in range(2):
        name = rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)
        if rng.random() < 0.65:
            phone = prefix + "".join(rng.choice("0123456789") for _ in range(digits))
        else:
            phone = rng.choice(MOBILE_PREFIXES) + "".join(rng.choice("0123456789") for _ in range(8))
        contacts.append((name, phone))
    return contacts


def _plan(rng: random.Random, number: int, catalogue: Catalogue) -> Planned:
    """One entry: its row, its key tasks and its audit trail."""
    if number <= len(catalogue.units):  # every bureau has entries, even in a small demo
        unit = catalogue.units[number - 1]
    else:
        unit = rng.choices(catalogue.units, catalogue.unit_weights)[0]
    profile = PROFILES[unit.department.value]
    scenario = rng.choices(*catalogue.scenarios[unit.department.value])[0]
    kind = catalogue.kinds[scenario.kind]
    starts_on, ends_on = _dates(rng, scenario.days or KIND_DAYS.get(scenario.kind, (1,)))
    place = _place(rng, unit, profile, scenario)
    figures = _figures(rng, kind.figures, scenario, profile, place, catalogue.slogans)
    participants = _participants(rng, scenario.kind, figures)
    context = {**figures, "participants": participants, "unit": unit.name, "field": profile.field,
               "audience": profile.audience, **_derived_texts(figures)}
    state = rng.choices(list(STATE_WEIGHTS), list(STATE_WEIGHTS.values()))[0]
    trail = _trail(rng, state, starts_on, ends_on, author=catalogue.authors[unit.id], province=catalogue.province_id)
    contact_name, contact_phone = rng.choice(catalogue.contacts[unit.id])
    name = scenario.name.format(field=profile.field)
    results = _results(rng, scenario, context)
    row = {
        "campaign_id": catalogue.campaign_id, "unit_id": unit.id, "author_id": catalogue.authors[unit.id],
        "kind_id": kind.id, "form_key": f"{FORM_KEY_PREFIX}{number}",
        "title": _title(rng, unit, name, scenario, place),
        "organiser": unit.name, "co_organisers": _co_organisers(rng, profile, scenario.kind),
        "starts_on": starts_on, "ends_on": ends_on, "county": place.county, "address": place.address,
        "participants": participants,
        "description": _description(rng, unit, scenario, name, place, starts_on, ends_on, context),
        "results": "" if state is ActivityState.DRAFT and rng.random() < 0.5 else results,
        "contact_name": contact_name, "contact_phone": contact_phone, "figures": figures,
        "no_fee_declared": state is not ActivityState.DRAFT,
        "state": state, "is_highlight": trail.is_highlight, "return_reason": trail.return_reason,
        "submitted_at": trail.submitted_at, "reviewed_at": trail.reviewed_at,
        "reviewed_by_id": catalogue.province_id if trail.reviewed_at else None,
        "created_at": trail.created_at, "updated_at": trail.updated_at,
    }
    events = [{**event, "unit_id": unit.id} for event in trail.events]
    return Planned(row=row, task_ids=_task_ids(rng, kind.default_task_number, catalogue.task_ids), events=events)


def _task_ids(rng: random.Random, default_number: int | None, task_ids: dict[int, int]) -> list[int]:
    numbers = [default_number] if default_number in task_ids else [min(task_ids)]
    if rng.random() < 0.25:
        numbers.append(rng.choice(RELATED_TASKS.get(numbers[0], (numbers[0],))))
    return [task_ids[n] for n in dict.fromkeys(numbers) if n in task_ids]


def _is_workday(day: date) -> bool:
    return day in MAKEUP_WORKDAYS or (day.weekday() < 5 and day not in HOLIDAYS)


def _workday_on_or_after(day: date) -> date:
    while not _is_workday(day):
        day += timedelta(days=1)
    return day


def _dates(rng: random.Random, durations: tuple[int, ...]) -> tuple[date, date]:
    """Start and end inside the campaign window, starting on a workday."""
    days = rng.choice(durations)
    if days >= 30:
        return WINDOW_FIRST, WINDOW_LAST
    last_start = WINDOW_LAST - timedelta(days=days - 1)
    starts = [WINDOW_FIRST + timedelta(days=n) for n in range((last_start - WINDOW_FIRST).days + 1)]
    starts_on = rng.choice([day for day in starts if _is_workday(day)])
    return starts_on, starts_on + timedelta(days=days - 1)


def _place(rng: random.Random, unit: Unit, profile: Profile, scenario: Scenario) -> Place:
    county = rng.choice(CITIES[unit.city][2].split())
    one_road, other_road = rng.sample(ROADS, 2)
    project = rng.choice(profile.projects).format(
        county=county, estate=rng.choice(ESTATES), phase=rng.choice(PHASES), road=one_road,
        national_road=rng.choice(NATIONAL_ROADS))
    site = f"{county}{one_road}以{rng.choice('东西')}、{other_road}以{rng.choice('南北')}"
    street = f"{county}{one_road}{rng.randint(1, 399)}号"
    if scenario.place == "site":
        return Place(county, f"{site}{project.removeprefix(county)}施工现场", f"{project}施工现场", project, site)
    if scenario.place == "field":
        return Place(county, f"{project}等在建项目", "", project, site)
    if scenario.place == "agency":
        return Place(county, f"{county}{profile.agency}等受评价机构", "", project, site)
    if scenario.place == "community":
        community = f"{rng.choice(COMMUNITIES)}社区"
        return Place(county, f"{street}{community}党群服务中心", f"{county}{community}", project, site)
    venue = rng.choice(profile.labs if scenario.place == "lab" else profile.venues)
    return Place(county, street + venue.replace("市", f"{unit.city}市", 1), venue, project, site)


def _figures(rng: random.Random, definitions: list[dict], scenario: Scenario, profile: Profile, place: Place,
             slogans: list[int]) -> dict:
    """Values for exactly the kind's figures, typed as its definitions say."""
    values = {}
    for definition in definitions:
        code, kind_of = definition["code"], definition["type"]
        given = scenario.figures.get(code)
        if kind_of == "int":
            low, high = given if isinstance(given, tuple) else FIGURE_RANGES.get(code, (1, 50))
            values[code] = given if isinstance(given, int) else rng.randint(low, high)
        elif kind_of == "choice":
            values[code] = _choice(rng, definition, given)
        elif kind_of == "multi":
            values[code] = _multi(rng, definition["choices"], given)
        elif kind_of == "slogans":
            values[code] = sorted(rng.sample(slogans, min(len(slogans), rng.randint(3, 7))))
        elif kind_of == "text":
            values[code] = given if isinstance(given, str) else _text_figure(rng, code, profile, place)
    return _reconcile(rng, values)


def _choice(rng: random.Random, definition: dict, given) -> str:
    """The scenario's choice, one of its suggestions, or a weighted pick of all choices."""
    choices = definition["choices"]
    if isinstance(given, str) and given in choices:
        return given
    pool = _suggested(given, choices) or choices
    weights = CHOICE_WEIGHTS.get(definition["code"], {})
    return rng.choices(pool, [weights.get(c, 1) for c in pool])[0]


def _multi(rng: random.Random, choices: list[str], given) -> list[str]:
    """Some of the scenario's suggestions (at least one), or two to five of all choices."""
    suggested = _suggested(given, choices)
    pool = suggested or choices
    fewest = 1 if suggested else min(2, len(pool))
    picked = set(rng.sample(pool, rng.randint(fewest, min(len(pool), 5))))
    return [c for c in choices if c in picked]  # in the catalogue's order, as the form stores them


def _suggested(given, choices: list[str]) -> list[str]:
    return [c for c in given if c in choices] if isinstance(given, list) else []


def _text_figure(rng: random.Random, code: str, profile: Profile, place: Place) -> str:
    if code == "project_name":
        return place.project
    if code == "project_site":
        return place.site
    if code == "standards":
        return rng.choice(profile.standards)
    return "详见活动内容"


def _reconcile(rng: random.Random, values: dict) -> dict:
    """Keep related figures consistent: awards ≤ contestants, rectified ≤ found, adopted ≤ entries."""
    if "awards" in values and "contestants" in values:
        values["awards"] = min(values["awards"], max(1, values["contestants"] // 3))
    if "problems_rectified" in values and "problems_found" in values:
        values["problems_rectified"] = round(values["problems_found"] * rng.uniform(0.82, 1.0))
    if "adopted" in values:
        entries = sum(values.get(c, 0) for c in ("improvements", "inventions", "designs", "innovations", "suggestions"))
        values["adopted"] = round(entries * rng.uniform(0.2, 0.5))
    return values


def _participants(rng: random.Random, kind_code: str, figures: dict) -> int:
    """人次 consistent with the figures; sets trainees and attendees (they are the participants)
    and raises a publicity entry's reach above them."""
    low, high = KIND_PARTICIPANTS.get(kind_code, (20, 300))
    for code in ("trainees", "attendees"):
        if code in figures:
            figures[code] = rng.randint(low, high)
            return figures[code]
    extra = rng.randint(low, high)
    if figures.get("contestants"):
        return figures["contestants"] + extra  # judges, staff and audience
    if figures.get("visitors"):
        return figures["visitors"] + extra
    if "experts" in figures:
        return figures["experts"] + extra
    if "reach" in figures:
        participants = extra
        figures["reach"] = max(figures["reach"], participants * 5)
        return participants
    return extra


def _derived_texts(figures: dict) -> dict:
    texts = {}
    if "channels" in figures:
        texts["channels_text"] = "、".join(figures["channels"])
    if "topics" in figures:
        texts["topics_text"] = "、".join(figures["topics"])
    if figures.get("problems_found"):
        texts["rate"] = round(100 * figures.get("problems_rectified", 0) / figures["problems_found"])
    return texts


def _title(rng: random.Random, unit: Unit, name: str, scenario: Scenario, place: Place) -> str:
    """济南市…, 济南市2024年…, or 济南市历城区… for what happens in one district."""
    roll = rng.random()
    if roll < 0.3:
        return f"{unit.city}市2024年{name}"
    if roll < 0.45 and scenario.place in ("site", "community"):
        return f"{unit.city}市{place.county}{name}"
    return f"{unit.city}市{name}"


def _when(starts_on: date, ends_on: date) -> str:
    if starts_on == ends_on:
        return f"{starts_on.month}月{starts_on.day}日"
    if starts_on.month == ends_on.month:
        return f"{starts_on.month}月{starts_on.day}日至{ends_on.day}日"
    return f"{starts_on.month}月{starts_on.day}日至{ends_on.month}月{ends_on.day}日"


def _description(rng: random.Random, unit: Unit, scenario: Scenario, name: str, place: Place,
                 starts_on: date, ends_on: date, context: dict) -> str:
    """Two to four formal sentences: what, how, with whom and how many."""
    verb = scenario.verb or KIND_VERBS.get(scenario.kind, "组织开展")
    at = f"在{place.venue}" if place.venue else ""
    sentences = [
        f"{_when(starts_on, ends_on)}，{unit.name}{at}{verb}{name}。",
        scenario.content.format(**context),
        (scenario.summary or KIND_SUMMARIES[scenario.kind]).format(**context),
    ]
    if rng.random() < 0.4:
        sentences.append(rng.choice(CLOSINGS).format(**context))
    return "".join(sentences)


def _results(rng: random.Random, scenario: Scenario, context: dict) -> str:
    pool = scenario.results or KIND_RESULTS[scenario.kind]
    chosen = rng.sample(pool, rng.randint(1, min(2, len(pool))))
    return "".join(sentence.format(**context) for sentence in chosen)


def _co_organisers(rng: random.Random, profile: Profile, kind_code: str) -> str:
    if rng.random() >= 0.4:
        return ""
    pool = profile.co_organisers + KIND_CO_ORGANISERS.get(kind_code, ())
    return "、".join(rng.sample(pool, rng.randint(1, 2)))


@dataclass
class Trail:
    """The entry's history: audit events and the timestamps the row keeps."""

    events: list[dict] = field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    submitted_at: datetime | None = None
    reviewed_at: datetime | None = None
    return_reason: str = ""
    is_highlight: bool = False

    def add(self, action: str, at: datetime, actor: int, from_state, to_state, reason: str = "") -> None:
        self.events.append({
            "at": at, "actor_id": actor, "action": action, "object_type": "activity",
            "from_state": from_state.value if from_state else None, "to_state": to_state.value,
            "reason": reason, "changes": {},
        })
        self.updated_at = at


def _trail(rng: random.Random, state: ActivityState, starts_on: date, ends_on: date,
           *, author: int, province: int) -> Trail:
    """Create → submit → (return → resubmit →) accept or return, and maybe a highlight."""
    draft, submitted, accepted, returned = (ActivityState.DRAFT, ActivityState.SUBMITTED,
                                            ActivityState.ACCEPTED, ActivityState.RETURNED)
    trail = Trail()
    if rng.random() < 0.2:  # registered ahead, from the plan
        created_day = max(starts_on - timedelta(days=rng.randint(1, 6)), date(2024, 9, 2))
    else:
        created_day = ends_on + timedelta(days=rng.choice((0, 0, 1, 1, 2, 3, 4)))
    moment = _office_time(rng, _workday_on_or_after(created_day))
    trail.created_at = moment
    trail.add("activity.create", moment, author, None, draft)
    if state is draft:
        return trail
    moment = _later(rng, moment, rng.choice((0, 0, 0, 1, 2)))
    if moment.astimezone(LOCAL_TZ).date() < ends_on:  # registered ahead: submitted once it was held
        moment = _office_time(rng, _workday_on_or_after(ends_on))
    trail.submitted_at = moment
    trail.add("activity.submit", moment, author, draft, submitted)
    round_trip = state is accepted and rng.random() < RESUBMITTED_SHARE
    if round_trip or state is returned:
        moment = _later(rng, moment, rng.randint(1, 6))
        trail.reviewed_at, trail.return_reason = moment, rng.choice(RETURN_REASONS)
        trail.add("activity.return", moment, province, submitted, returned, trail.return_reason)
    if round_trip:
        moment = _later(rng, moment, rng.randint(0, 3))
        trail.submitted_at = moment
        trail.add("activity.resubmit", moment, author, returned, submitted)
    if state is accepted:
        moment = _later(rng, moment, rng.randint(1, 8))
        trail.reviewed_at, trail.return_reason = moment, ""
        trail.add("activity.accept", moment, province, submitted, accepted)
        if rng.random() < HIGHLIGHT_SHARE:
            trail.is_highlight = True
            trail.add("activity.highlight", _later(rng, moment, rng.randint(0, 3)), province, accepted, accepted)
    return trail


def _office_time(rng: random.Random, day: date) -> datetime:
    """A moment in office hours, Asia/Shanghai, returned in UTC as stored."""
    minute = rng.randint(8 * 60 + 30, 17 * 60 + 50)
    local = datetime.combine(day, time(minute // 60, minute % 60, rng.randint(0, 59)), LOCAL_TZ)
    return local.astimezone(timezone.utc)


def _later(rng: random.Random, moment: datetime, workdays: int) -> datetime:
    """The same day if office hours allow (workdays=0), else some workdays on, never past the snapshot."""
    soon = moment + timedelta(minutes=rng.randint(5, 150))
    today = moment.astimezone(LOCAL_TZ).date()
    day = today
    for _ in range(workdays):
        day = _workday_on_or_after(day + timedelta(days=1))
    if workdays == 0 and soon.astimezone(LOCAL_TZ).time() > time(18, 0):
        day = _workday_on_or_after(today + timedelta(days=1))
    day = min(day, max(LAST_REVIEW_DAY, today))
    return _office_time(rng, day) if day > today else soon
