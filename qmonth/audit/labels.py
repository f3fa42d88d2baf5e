"""Chinese labels of the audit trail: actions, objects, states and changed fields."""
from __future__ import annotations

from ..activities.services import FIELD_LABELS
from ..models import STATE_LABELS, ReportState


ACTION_LABELS = {
    "auth.login": "登录",
    "auth.login_failed": "登录失败",
    "access.denied": "拒绝访问",
    "activity.create": "登记活动",
    "activity.edit": "修改活动",
    "activity.submit": "报送活动",
    "activity.resubmit": "重新报送",
    "activity.accept": "采纳",
    "activity.return": "退回",
    "activity.highlight": "设为宣传推广",
    "activity.unhighlight": "取消宣传推广",
    "activity.delete": "删除草稿",
    "photo.add": "上传照片",
    "photo.delete": "删除照片",
    "attachment.add": "上传附件",
    "attachment.delete": "删除附件",
    "report.submit": "报送总结报告",
    "report.reopen": "退回总结报告",
    "bulletin.create": "新建简报",
    "reminder.send": "催报",
    "unit.reopen": "开放补报",
    "unit.due_date": "设定下级截止时间",
    "campaign.load": "载入活动文件",
    "campaign.clone": "复制活动年度",
    "campaign.activate": "切换当前活动",
}

OBJECT_LABELS = {
    "activity": "活动", "photo": "照片", "attachment": "附件", "unitreport": "总结报告", "bulletin": "简报",
    "reminder": "催报", "unitreopening": "补报", "campaign": "活动年度", "user": "账号",
}

STATE_VALUE_LABELS = {
    **{state.value: label for state, label in STATE_LABELS.items()},
    "locked": "已截止", "open": "可填报",
}
# A report's states share their values with an activity's, not their labels.
REPORT_STATE_LABELS = {state.value: state.label for state in ReportState}

CHANGE_LABELS = {
    **FIELD_LABELS, "path": "地址", "method": "方式", "endpoint": "功能", "username": "用户名", "due_at": "截止时间",
    "timeliness": "报送时效", "slug": "标识", "from": "复制自", "active": "当前活动", "created": "新建",
    "changed": "有变化", "unit_changes": "单位调整",
}


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


def state_label(value: str | None, object_type: str = "") -> str:
    labels = REPORT_STATE_LABELS if object_type == "unitreport" else STATE_VALUE_LABELS
    return labels.get(value, value or "")


def change_lines(changes: dict) -> list[tuple[str, str]]:
    """{field: [old, new]} or {key: value} as readable (label, text) pairs."""
    lines = []
    for key, value in (changes or {}).items():
        if isinstance(value, list) and len(value) == 2 and key not in ("units", "unit_changes"):
            old, new = (_text(item) for item in value)
            lines.append((CHANGE_LABELS.get(key, key), f"{old or '（空）'} → {new or '（空）'}"))
        else:
            lines.append((CHANGE_LABELS.get(key, key), _text(value)))
    return lines


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(_text(item) for item in value)
    if isinstance(value, dict):
        return "；".join(f"{key}: {_text(item)}" for key, item in value.items())
    text = str(value)
    return text if len(text) <= 120 else text[:119] + "…"
