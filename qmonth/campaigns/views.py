"""Campaign management (province): the campaigns loaded, loading a file, cloning, choosing the active one.

The pages are a tab of the oversight board, so their routes hang on the board blueprint (whose login
check covers them): their URLs (/board/campaigns/...) and endpoint names (board.campaigns, ...), which
templates, tests and recorded audit rows name, stay as they were.
"""
from __future__ import annotations

from flask import flash, redirect, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from ..access import require_province
from ..board import bp as board_bp
from ..extensions import db
from ..htmx import render
from ..models import Campaign
from ..units import tree_changes_text
from .forms import CampaignUploadForm
from .loader import CampaignFileError
from .services import (CampaignError, activate_campaign, campaign_summaries, clone_campaign, load_uploaded_campaign,
                       units_held_notice)


@board_bp.get("/campaigns")
def campaigns():
    """The campaigns loaded, which one is active; load a file or clone one for next year."""
    require_province(current_user)
    return _campaigns_page(CampaignUploadForm(formdata=None))


def _campaigns_page(form: CampaignUploadForm, *, error: str = "", activate_error: str = "", status: int = 200):
    return render("campaigns/index.html", status=status, summaries=campaign_summaries(), form=form, error=error,
                  activate_error=activate_error)


@board_bp.post("/campaigns/upload")
def upload_campaign():
    """Load a campaign file: every problem is reported with its line, and nothing is half-loaded."""
    require_province(current_user)
    form = CampaignUploadForm()
    if not form.validate_on_submit():
        return _campaigns_page(form, status=422)
    try:
        result = load_uploaded_campaign(form.file.data.read(), by=current_user)
        db.session.commit()
    except CampaignFileError as error:
        db.session.rollback()
        return _campaigns_page(form, error=f"活动文件未载入。{error}", status=422)
    except IntegrityError:
        db.session.rollback()
        return _campaigns_page(form, error="活动文件未载入：文件删去了已有活动正在使用的类型或任务。", status=422)
    flash(f"已载入“{result.campaign.title}”。", "success")
    if result.units_held:
        flash(units_held_notice(result), "warning")
    return redirect(url_for(".campaigns"))


@board_bp.post("/campaigns/<int:campaign_id>/clone")
def clone(campaign_id: int):
    """Next year's campaign from this one: the same catalogue, dates a year later, no entries."""
    require_province(current_user)
    source = db.get_or_404(Campaign, campaign_id)
    try:
        created = clone_campaign(source, by=current_user)
        db.session.commit()
    except CampaignError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        flash(f"已创建“{created.title}”，请核对日期和内容后设为当前活动。", "success")
    return redirect(url_for(".campaigns"))


@board_bp.post("/campaigns/<int:campaign_id>/activate")
def activate(campaign_id: int):
    """Make this the campaign every user works in."""
    require_province(current_user)
    campaign = db.get_or_404(Campaign, campaign_id)
    try:
        units_applied = activate_campaign(campaign, by=current_user)
    except CampaignError as error:
        db.session.rollback()
        return _campaigns_page(CampaignUploadForm(formdata=None), activate_error=str(error), status=409)
    db.session.commit()
    flash(f"当前活动已切换为“{campaign.title}”。", "success")
    if units_applied:
        flash(f"已按活动文件调整单位（{tree_changes_text(units_applied)}）。", "success")
    return redirect(url_for(".campaigns"))
