from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from ..textnorm import CleanText
from .services import password_problem


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名。"), Length(max=60), CleanText()])
    password = PasswordField("密码", validators=[DataRequired("请输入密码。"), Length(max=128)])


class NewPasswordMixin:
    @staticmethod
    def validate_new_password(form, field):
        problem = password_problem(field.data or "")
        if problem:
            raise ValidationError(problem)


class PasswordChangeForm(NewPasswordMixin, FlaskForm):
    current_password = PasswordField("当前密码", validators=[DataRequired("请输入当前密码。")])
    new_password = PasswordField("新密码", validators=[DataRequired("请输入新密码。")])
    confirm_password = PasswordField(
        "确认新密码",
        validators=[DataRequired("请再次输入新密码。"), EqualTo("new_password", "两次输入的新密码不一致。")],
    )
