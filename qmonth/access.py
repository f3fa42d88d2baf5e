"""What a user may see and do: the one scoping rule and every role and ownership check.

Every view that loads an object by id goes through here, and every role or ownership check
lives here. The scoping rule is `unit_scope`: a user sees their own unit and every unit below
it in the reporting tree (a subquery on the materialized path, see qmonth/units.py), never a
sibling's or a cousin's. Changing entries stays with the very unit (`is_own_unit`); review
belongs to the parent (`may_accept`), and the root may also return anything below it.
"""
from __future__ import annotations

from flask import abort, g
from sqlalchemy import ColumnElement, Select, false, select

from .extensions import db
from .campaigns.services import active_campaign
from .models import Activity, Attachment, Campaign, Photo, PhotoUpload, Unit, User
from .securitylog import security_event
from .units import in_subtree, placed_unit, reads_own_tree, subtree_ids


def unit_scope(user: User) -> Select | None:
    """The ids of the units whose rows the user sees, as a subquery: the user's subtree.
    None for everything (a province admin outside the tree, as accounts made before the tree
    were); a user without a unit sees nothing."""
    if user.unit_id is None:
        return None if user.is_province else select(Unit.id).where(false())
    return subtree_ids(user.unit)


def scoped_to_units(query: Select, user: User, column: ColumnElement) -> Select:
    """The query narrowed to rows whose unit id `column` lies within the user's scope."""
    scope = unit_scope(user)
    return query if scope is None else query.where(column.in_(scope))


def sees_unit(user: User, unit_id: int | None) -> bool:
    """Whether the unit lies within the user's scope (the Python twin of `scoped_to_units`)."""
    if user.unit_id is None:
        return user.is_province
    return unit_id is not None and in_subtree(user.unit, db.session.get(Unit, unit_id))


def sees_unit_in(user: User, campaign_id: int | None, unit_id: int | None) -> bool:
    """`sees_unit` in a campaign's own tree: for a past campaign, the user's subtree as that
    campaign's tree drew it (a county moved to another city since still belongs to its old city
    for that campaign's entries, and not to its new one)."""
    if not reads_own_tree(campaign_id):
        return sees_unit(user, unit_id)
    if user.unit_id is None:
        return user.is_province
    mine, theirs = placed_unit(campaign_id, user.unit_id), placed_unit(campaign_id, unit_id)
    return mine is not None and theirs is not None and bool(mine.path) and theirs.path.startswith(mine.path)


def sees_activity(user: User, activity: Activity) -> bool:
    """Whether the user sees this entry, in its own campaign's tree (the Python twin of
    `visible_activities`, which lists the active campaign's)."""
    return sees_unit_in(user, activity.campaign_id, activity.unit_id)


def sees_units_below(user: User) -> bool:
    """Whether the user's scope holds units below their own (lists then show and filter by unit)."""
    if user.unit_id is None:
        return user.is_province
    cached = g.get("sees_units_below")
    if cached is None or cached[0] != user.id:
        below = db.session.scalar(select(Unit.id).where(Unit.parent_id == user.unit_id).limit(1)) is not None
        g.sees_units_below = cached = (user.id, below)
    return cached[1]


def sees_whole_tree(user: User) -> bool:
    """The root's users (and a province account outside the tree): their scope is every unit."""
    return user.unit.parent_id is None if user.unit is not None else user.is_province


def subtree_unit_ids(user: User, most: int) -> list[int] | None:
    """The ids of the user's unit and of every unit below it, read once per request (a search
    asks for them for its count and again for its page); None for a user outside the tree or past
    `most` units. The same read answers `sees_units_below` for the request, instead of a query
    of its own."""
    if user.unit is None:
        return None
    cached = g.get("subtree_unit_ids")
    if cached is None or cached[0] != user.unit_id:
        ids = db.session.scalars(subtree_ids(user.unit).limit(most + 1)).all()
        g.subtree_unit_ids = cached = (user.unit_id, ids)
        g.sees_units_below = (user.id, len(ids) > 1)
    return None if len(cached[1]) > most else cached[1]


def is_root_admin(user: User) -> bool:
    """The issuing department's admin (the province role): the campaign's powers are theirs."""
    return user.is_province


def may_review(user: User) -> bool:
    """Admins of a node review what the nodes directly below it submit."""
    return user.is_province or user.is_unit_admin


def reviewed_units(user: User) -> Select:
    """The ids of the units whose entries the user's node reviews: those directly below it (and the
    root's own, which have no parent to review them)."""
    if not may_review(user) or user.unit_id is None:
        return select(Unit.id).where(false())
    below = Unit.parent_id == user.unit_id
    if is_root_admin(user):
        return select(Unit.id).where(below | ((Unit.id == user.unit_id) & Unit.parent_id.is_(None)))
    return select(Unit.id).where(below)


def may_accept(user: User, activity: Activity) -> bool:
    """Only the parent node's admins accept an entry (the root's own entries, having no parent,
    by the root's admins)."""
    unit = placed_unit(activity.campaign_id, activity.unit_id)  # its parent in the entry's campaign
    if not may_review(user) or unit is None or user.unit_id is None:
        return False
    return unit.parent_id == user.unit_id or (unit.parent_id is None and unit.id == user.unit_id
                                              and is_root_admin(user))


def may_return(user: User, activity: Activity) -> bool:
    """The parent node's admins return an entry; so may the root's, anywhere in its subtree."""
    return may_accept(user, activity) or (
        is_root_admin(user) and activity.unit_id != user.unit_id and sees_activity(user, activity))


def is_own_unit(user: User, unit_id: int | None) -> bool:
    """Whether the user belongs to this very unit: only its own people change its entries."""
    return user.unit_id is not None and user.unit_id == unit_id


def is_admin_of_unit(user: User, unit_id: int | None) -> bool:
    """Whether the user is the unit admin of this unit (writes and submits its report). The root's
    admins are the province's (PROVINCE_ADMIN): they write the root's own report."""
    return (user.is_unit_admin or user.is_province) and is_own_unit(user, unit_id)


def require_province(user: User) -> None:
    """Province-only pages and actions: anyone else gets a 403."""
    if not user.is_province:
        abort(403)


def may_see_board(user: User) -> bool:
    """The board (报送进度 of the units below, 催报, 补报, their due dates): the province's admins,
    and the admins of any unit with units below it (a city bureau over its counties)."""
    return user.is_province or (user.is_unit_admin and sees_units_below(user))


def require_board_viewer(user: User) -> None:
    """Board pages and actions of a level: else 403."""
    if not may_see_board(user):
        abort(403)


def board_parent_or_404(user: User, code: str, root: Unit | None) -> Unit:
    """The unit whose children a board lists: the viewer's own (the root for a province admin
    outside the tree), or, drilling down, a unit in the viewer's subtree (else 404)."""
    if not code:
        unit = user.unit if user.unit_id is not None else root
        if unit is None:
            abort(404)
        return unit
    return visible_unit_or_404(user, code)


def overseen_unit_or_404(user: User, code: str) -> Unit:
    """A unit below the board viewer's own, whose deadline the viewer's level manages (补报):
    outside the subtree a 404, the viewer's own unit a 403."""
    require_board_viewer(user)
    return unit_below_or_404(user, code)


def may_oversee(user: User, unit: Unit) -> bool:
    """Whether the user's level reopens and schedules this unit: a board viewer above it."""
    if not may_see_board(user) or unit is None:
        return False
    if user.unit_id is None:
        return True
    return unit.id != user.unit_id and in_subtree(user.unit, unit)


def require_reviewer(user: User) -> None:
    """The review queue: admins of a node (the province's and the units'), else 403."""
    if not may_review(user):
        abort(403)


def require_own_unit(user: User, unit_id: int | None) -> None:
    """Actions a unit does for itself only (its entries, its report): anyone else gets a 403."""
    if not is_own_unit(user, unit_id):
        abort(403)


def require_bureau_user(user: User) -> None:
    """Pages and actions for users of a unit (their reminders, registering activities), the root's
    included: else 403."""
    if user.unit_id is None:
        abort(403)


def campaign_or_404() -> Campaign:
    """The active campaign, or a 404 when none has been loaded yet."""
    campaign = active_campaign()
    if campaign is None:
        abort(404)
    return campaign


def unit_by_code_or_404(code: str) -> Unit:
    """A unit by its code, whoever asks (units are no secret): 404 when there is none."""
    unit = db.session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        abort(404)
    return unit


def visible_unit_or_404(user: User, code: str) -> Unit:
    """A unit the user may open (its report, its figures): outside the scope it is a 404."""
    unit = db.session.scalar(select(Unit).where(Unit.code == code))
    if unit is None or not sees_unit(user, unit.id):
        abort(404)
    return unit


def unit_below_or_404(user: User, code: str) -> Unit:
    """A unit strictly below the user's own, which the tree screens change: one outside the
    subtree is a 404, the user's own unit (changed by the level above) a 403."""
    unit = visible_unit_or_404(user, code)
    if unit.id == user.unit_id or (user.unit_id is None and unit.parent_id is None):
        abort(403)
    return unit


def visible_activities(user: User) -> Select:
    """The activities the user sees in the live tree; every list of the active campaign starts
    here. A lookup by id goes through `get_activity_or_404`, which also knows past campaigns' trees."""
    return scoped_to_units(select(Activity), user, Activity.unit_id)


def get_activity_or_404(user: User, activity_id: int) -> Activity:
    """Every lookup by id goes through here: another bureau's activity is a 404. An entry of a
    past campaign is judged in that campaign's tree."""
    activity = db.session.get(Activity, activity_id)
    if activity is None:
        abort(404)
    if not sees_activity(user, activity):
        security_event("access.not_visible", object="activity", id=activity_id)
        abort(404)
    return activity


def may_change_activity(user: User, activity: Activity) -> bool:
    """Only the activity's own bureau changes it (and its photos and files), while it is editable."""
    return is_own_unit(user, activity.unit_id) and activity.is_editable


def editable_activity_or_abort(user: User, activity_id: int) -> Activity:
    """The activity whose media the user changes: 404 unseen, 403 not theirs, 409 no longer editable."""
    activity = get_activity_or_404(user, activity_id)
    if not is_own_unit(user, activity.unit_id):
        abort(403)
    if not activity.is_editable:
        abort(409)
    return activity


def require_may_change_media(user: User, item: Photo | Attachment) -> None:
    """A photo or file of an activity changes only while the user may change that activity (else 403);
    a staged one is already scoped to its uploader by the lookup."""
    if item.activity is not None and not may_change_activity(user, item.activity):
        abort(403)


def _get_media_or_404(model, user: User, item_id: int):
    """A photo or file is visible when its activity is; a staged one only to its uploader."""
    item = db.session.get(model, item_id)
    if item is None:
        abort(404)
    visible = (item.uploaded_by_id == user.id if item.activity_id is None else
               sees_activity(user, item.activity))
    if not visible:
        security_event("access.not_visible", object=model.__name__.lower(), id=item_id)
        abort(404)
    return item


def get_photo_or_404(user: User, photo_id: int) -> Photo:
    """A photo the user may see (see `_get_media_or_404`), else 404."""
    return _get_media_or_404(Photo, user, photo_id)


def get_attachment_or_404(user: User, attachment_id: int) -> Attachment:
    """A video or document the user may see (see `_get_media_or_404`), else 404."""
    return _get_media_or_404(Attachment, user, attachment_id)


def get_photo_upload_or_404(user: User, token: str) -> PhotoUpload:
    """A photo upload in progress (or done) is seen by the user who started it only, else 404."""
    upload = None
    if len(token) == 32 and all(c in "0123456789abcdef" for c in token):
        upload = db.session.scalar(select(PhotoUpload).where(PhotoUpload.token == token))
    if upload is None or upload.user_id != user.id:
        if upload is not None:
            security_event("access.not_visible", object="photo_upload", id=upload.id)
        abort(404)
    return upload
