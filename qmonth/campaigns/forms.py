"""The form that loads a campaign file."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired


class CampaignUploadForm(FlaskForm):
    file = FileField("活动文件", validators=[FileRequired("请选择活动文件。"),
                                         FileAllowed(["toml"], "只能上传 .toml 格式的活动文件。")])
