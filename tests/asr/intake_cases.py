"""Intake sentences written from the seed taxonomy (hotline-rules.md; 003 Table 1), with the
labels a call taker would give. ``None`` for the domain means "not checked" (emergency calls
whose domain is beside the point). Paraphrases and negatives are deliberate: several use none
of the rule words literally, and every line of a negative must stay empty."""

from __future__ import annotations

from typing import NamedTuple


class Case(NamedTuple):
    text: str
    category: str
    domain: str | None
    line: str | None = None
    menu: str | None = None


CASES: list[Case] = [
    # --- consult (咨询)
    Case("请问一下，流感疫苗现在哪里可以打？", "consult", "prevention"),
    Case("我想了解一下新生儿建档需要带什么材料", "consult", "prevention"),
    Case("孩子的乙肝疫苗第二针什么时候接种", "consult", "prevention"),
    Case("你好，我想问问去市医院看心内科要不要提前预约", "consult", "medical_service"),
    Case("异地就医的医保报销流程是怎样的", "consult", "medical_fees"),
    Case("不是急事，想问一下平时胸口偶尔闷一下应该挂什么科", "consult", "medical_service"),
    Case("想咨询戒烟有什么好办法", "consult", "prevention"),
    Case("狂犬疫苗一共要打几针", "consult", "prevention"),
    Case("手足口病有哪些症状，怎么预防", "consult", "infectious_disease"),
    Case("从外地回来需要做核酸检测吗", "consult", "infectious_disease"),
    Case("想问一下市人民医院周末门诊开不开", "consult", "medical_service"),
    Case("家里老人有高血压，平时饮食上要注意什么", "consult", "prevention"),
    Case("请问职业病诊断要去哪里申请", "consult", "occupational_poisoning"),
    Case("买的奶粉怎么查是不是正规产品", "consult", "food_safety"),
    Case("我想了解一下心脏骤停的急救知识，比如心肺复苏怎么做", "consult", "prevention"),
    Case("我爷爷去年中风过，现在恢复得不错，想问问哪里有康复医院", "consult", "medical_service"),
    Case("怎么预防食物中毒？夏天剩饭剩菜还能不能吃", "consult", "food_safety"),
    Case("孩子没有抽搐，就是有点低烧，需要去医院吗", "consult", None),
    Case("交通事故受伤以后的医疗费用能不能走医保报销", "consult", "medical_fees"),
    Case("体检报告什么时候能拿", "consult", "prevention", menu="1"),
    # --- complaint (投诉): 医疗服务, 医院管理, 医疗收费, 医疗质量, 预防保健 (Table 1)
    Case("我要投诉市二院的护士，态度特别恶劣，还训斥我母亲", "complaint", "medical_service"),
    Case("医院药房说降压药缺货，已经一个月开不到药了", "complaint", "medical_service"),
    Case("挂号电话打了一上午都没人接", "complaint", "medical_service"),
    Case("医生看病的时候很不耐烦，问两句就把我们打发走了", "complaint", "medical_service"),
    Case("门诊排队排了三个小时，秩序特别乱", "complaint", "hospital_management"),
    Case("医院停车场管理太混乱，车根本进不来", "complaint", "hospital_management"),
    Case("住院部厕所很脏，好几天没人打扫", "complaint", "hospital_management"),
    Case("出院结算的时候多收了我两千块钱检查费", "complaint", "medical_fees"),
    Case("自费项目根本没跟我们说就直接收费了，退费也很难", "complaint", "medical_fees"),
    Case(
        "上个月我爸在医院做手术，结果大出血，医院到现在也不给个说法", "complaint", "medical_quality"
    ),
    Case("医院把我的检查报告弄错了，写成了别人的名字", "complaint", "medical_quality"),
    Case("急诊医生误诊，把阑尾炎当成胃炎治，耽误了治疗", "complaint", "medical_quality"),
    Case("孩子打完疫苗后一直发烧，防保科却说跟疫苗没关系，我很不满意", "complaint", "prevention"),
    Case("社区医院的流感疫苗断货一个多月了，一直打不上", "complaint", "prevention"),
    Case("之前有人在医院门口打人，处理结果一直没公布，我要投诉", "complaint", None),
    Case("医院的消防通道被堵了，万一着火怎么办", "complaint", "hospital_management", menu="2"),
    Case("护士给我扎了五次针都没扎进去", "complaint", "medical_service", menu="2"),
    # --- report (举报)
    Case("我要举报我们小区有个没有执照的黑诊所在给人输液", "report", "health_supervision"),
    Case("有个医生收病人红包，还让病人去外面药店买药拿回扣", "report", "medical_ethics"),
    Case("举报一家药店卖过期药", "report", "medical_service"),
    Case(
        "我们厂车间粉尘特别大，老板不给发口罩，好几个工友查出尘肺",
        "report",
        "occupational_poisoning",
    ),
    Case("街边那家饭店后厨老鼠乱跑，用的还是地沟油", "report", "food_safety"),
    Case("有个美容院没有资质，在给人打玻尿酸", "report", "health_supervision"),
    Case("我发现有人冒用别人的医保卡开药倒卖", "report", "medical_fees"),
    Case("那个诊所的医生根本没有执业证", "report", "health_supervision"),
    Case("学校一个班好几个孩子出了水痘，学校一直瞒报", "report", "infectious_disease"),
    Case("我要举报一家养老院私自给老人打针输液", "report", "health_supervision"),
    Case("医院门口有号贩子倒卖专家号", "report", "medical_service", menu="3"),
    # --- suggestion (意见建议)
    Case("建议医院多开几个挂号窗口，早上排队的人太多了", "suggestion", "hospital_management"),
    Case("希望社区卫生服务中心晚上也能看诊", "suggestion", "medical_service"),
    Case("我有个建议，医院的停车位太少了，能不能多建一些", "suggestion", "hospital_management"),
    Case("能不能在医院里多设一些无障碍通道，方便坐轮椅的老人", "suggestion", "hospital_management"),
    Case("希望疫苗接种点可以网上预约，不用排长队", "suggestion", "prevention"),
    Case("建议在学校多开展一些传染病防治的宣传", "suggestion", "infectious_disease"),
    Case("提个意见，医院的收费清单应该写得更清楚一点", "suggestion", "medical_fees"),
    Case("希望加强对小餐馆的卫生检查", "suggestion", "food_safety"),
    Case("建议工厂定期给工人做职业健康体检", "suggestion", "occupational_poisoning"),
    Case("医生写的病历字太潦草，最好都改成电子病历", "suggestion", "medical_quality"),
    Case("我觉得热线应该增加夜间人工服务", "suggestion", "other"),
    # --- help (求助)
    Case("家里老人得了重病，实在拿不出医药费了，有没有什么救助", "help", "medical_fees"),
    Case("我是外地来的，孩子生病了不知道该去哪家医院，求帮忙", "help", "medical_service"),
    Case("我父亲瘫痪在床没人照顾，能不能帮忙联系一下护工", "help", "medical_service"),
    Case("我的病历找不到了，医院说不给补，求你们帮帮忙", "help", "medical_quality"),
    Case("我女儿是罕见病，国内买不到药，求你们想想办法", "help", "medical_service"),
    Case("孩子被狗咬了，附近医院都说狂犬疫苗没有了，求助", "help", "prevention"),
    Case("我在外地出差，医保卡用不了，看病的钱不够，能帮帮我吗", "help", "medical_fees"),
    # --- emergencies: medical → 120, fire → 119, violence → 110, traffic → 122, outbreaks and
    # poisoning → public_health_duty
    Case("救命，我爸突然晕倒了，怎么叫都叫不醒", "help", None, "medical_120"),
    Case("我妈胸口疼得厉害，满头大汗，喘不上气", "help", None, "medical_120"),
    Case("我老婆生完孩子一直大出血，血止不住", "help", None, "medical_120"),
    Case("孩子发高烧，现在全身抽搐，口吐白沫", "help", None, "medical_120"),
    Case("邻居老人倒在地上，没有呼吸了", "help", None, "medical_120"),
    Case("我朋友喝了农药，现在意识不清", "help", None, "medical_120"),
    Case("我 爸 突然 昏迷 了 快 来 人", "help", None, "medical_120"),  # a Vosk transcript
    Case("老公说胸痛，脸色发白，你们快想想办法", "help", None, "medical_120"),
    Case("医院病房里着火了，到处是浓烟", "help", None, "fire_119"),
    Case("楼下饭店煤气泄漏，味道特别大", "help", None, "fire_119"),
    Case("诊室里有个病人家属拿着刀在砍医生", "help", None, "police_110"),
    Case("有人在急诊科闹事，把护士打伤了", "help", None, "police_110"),
    Case("医院门口出车祸了，有人被撞倒在地上", "help", None, "traffic_122"),
    Case("高速上两辆车追尾，有人受伤", "help", None, "traffic_122"),
    Case(
        "我们公司食堂中午吃完饭，三十多个人上吐下泻，怀疑是食物中毒",
        "report",
        "food_safety",
        "public_health_duty",
    ),
    Case(
        "我们村这几天好多人发烧咳嗽，好像是传染病暴发了",
        "report",
        "infectious_disease",
        "public_health_duty",
    ),
    Case(
        "工厂车间有人吸入有毒气体，好几个工人职业中毒",
        "report",
        "occupational_poisoning",
        "public_health_duty",
    ),
    Case(
        "学校十几个学生吃了午饭都呕吐腹泻，像是集体食物中毒",
        "report",
        "food_safety",
        "public_health_duty",
    ),
    # --- written after the first rule set, as a held-out check (first run: 5 of 16 right,
    # 1 of 5 emergencies; the rules were then widened; two domain misses remain, on purpose)
    Case("请问宫颈癌疫苗九价的现在能约上吗", "consult", "prevention"),
    Case("我想知道医院的探视时间是几点到几点", "consult", "hospital_management"),
    Case("儿童医院的儿科急诊晚上有没有医生值班", "consult", "medical_service"),
    Case("收费处的工作人员算错账，还冲我发脾气", "complaint", "medical_fees"),
    Case("做完胃镜以后一直疼，我怀疑医生操作有问题", "complaint", "medical_quality"),
    Case("医院的电梯坏了一个星期都没修，老人只能爬楼", "complaint", "hospital_management"),
    Case("有家私人诊所给小孩打的针是过期的", "report", "health_supervision"),
    Case("某卫生院伪造病历套取医保基金", "report", "medical_fees"),
    Case("希望医院能在门诊大厅放一些座椅给老人休息", "suggestion", "hospital_management"),
    Case("我没有医保，孩子住院押金交不起，请帮帮我们", "help", "medical_fees"),
    Case("快来人啊，我奶奶摔倒后昏过去了", "help", None, "medical_120"),
    Case("工地上有人从楼上掉下来，流了好多血", "help", None, "medical_120"),
    Case("厂里锅炉房冒出很多黑烟，好像起火了", "help", None, "fire_119"),
    Case("有个男的在候诊区动手打护士", "help", None, "police_110"),
    Case(
        "幼儿园好多小朋友同时发烧出疹子，老师说可能是传染病",
        "report",
        "infectious_disease",
        "public_health_duty",
    ),
    Case("他心脏病以前发作过，现在没事，想问问平时要吃什么药", "consult", "medical_service"),
]
