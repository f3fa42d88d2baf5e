"""All tables, typed (SQLAlchemy 2.0), one module per feature; importing from `qmonth.models`
keeps working for every table and constant."""
from .base import (  # noqa: F401
    _enum_values, NEVER_REUSE_IDS,
)
from .units import (  # noqa: F401
    CampaignUnit, CLIENT_ADDRESS_MAX, Department, DEPARTMENT_LABELS, LoginAttempt, Role, ROLE_LABELS, Unit,
    User, USERNAME_KEY_MAX,
)
from .campaigns import (  # noqa: F401
    ActivityKind, Campaign, CHINESE_NUMERALS, Slogan, Task, TaskGroup,
)
from .activities import (  # noqa: F401
    Activity, activity_task, ActivityState, ActivityTally, ADDRESS_MAX, AuditEvent, CO_ORGANISERS_MAX,
    CONTACT_NAME_MAX, CONTACT_PHONE_MAX, COUNTY_MAX, DESCRIPTION_MAX, FIGURE_TEXT_MAX,
    made_by_search_migrations, ORGANISER_MAX, PARTICIPANTS_MAX, REASON_MAX, RESULTS_MAX, STATE_LABELS,
    TITLE_MAX,
)
from .media import (  # noqa: F401
    Attachment, AttachmentKind, CAPTION_MAX, ORIGINAL_NAME_MAX, Photo, PhotoUpload,
)
from .reports import (  # noqa: F401
    Bulletin, Reminder, ReminderRecipient, ReportState, UnitDueDate, UnitReopening, UnitReport,
)
