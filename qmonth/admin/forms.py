from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from ..auth.services import password_problem
from ..textnorm import CleanText


class UserCreateForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名。"), Length(max=60, message="用户名不能超过 60 个字符。"), CleanText()])
    display_name = StringField("姓名", validators=[DataRequired("请输入姓名。"), Length(max=60, message="姓名不能超过 60 个字符。"), CleanText()])
    role = SelectField("角色", validators=[DataRequired("请选择角色。")])
    unit = SelectField("所属单位", coerce=str)
    password = PasswordField("初始密码", validators=[DataRequired("请输入初始密码。")])

    @staticmethod
    def validate_password(form, field):
        problem = password_problem(field.data or "")
        if problem:
            raise ValidationError(problem)


class UnitAddForm(FlaskForm):
    parent = SelectField("上级单位", coerce=str)
    name = StringField("单位名称", validators=[DataRequired("请填写单位名称。"),
                                            Length(max=120, message="单位名称不能超过 120 个字。"), CleanText()])
    code = StringField("单位代码", validators=[DataRequired("请填写单位代码。"),
                                            Length(max=40, message="单位代码不能超过 40 位。"), CleanText()])


class UnitRenameForm(FlaskForm):
    name = StringField("新名称", validators=[DataRequired("请填写新名称。"),
                                          Length(max=120, message="单位名称不能超过 120 个字。"), CleanText()])


class UnitMoveForm(FlaskForm):
    parent = SelectField("移到", coerce=str)


class AccountMoveForm(FlaskForm):
    unit = SelectField("调往单位", coerce=str)
