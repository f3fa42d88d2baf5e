"""Expected outcome of every route for every actor (tests/access/test_access_matrix.py).

For routes that name an object: (bureau A's, bureau B's, one that does not exist).
A is jinan-zj (reporter_a, admin_a), B is qingdao-zj (reporter_b). "ok" is the feature's
own page or action (its 409/422 included), "login" the login page.
"""

LOGIN3 = ("login", "login", "login")

SPEC = {
    "activities.check_field POST": {
        "anonymous": "login", "reporter_a": "ok", "admin_a": "ok",
        "reporter_b": "ok", "province": "ok"},
    "activities.delete GET": {
        "anonymous": LOGIN3, "reporter_a": ("ok", "404", "404"), "admin_a": ("ok", "404", "404"),
        "reporter_b": ("404", "ok", "404"), "province": ("403", "403", "404")},
    "activities.delete POST": {
        "anonymous": LOGIN3, "reporter_a": ("ok", "404", "404"), "admin_a": ("ok", "404", "404"),
        "reporter_b": ("404", "ok", "404"), "province": ("403", "403", "404")},
    "activities.detail GET": {
        "anonymous": LOGIN3, "reporter_a": ("ok", "404", "404"), "admin_a": ("ok", "404", "404"),
        "reporter_b": ("404", "ok", "404"), "province": ("ok", "ok", "404")},
    "activities.edit GET": {
        "anonymous": LOGIN3, "reporter_a": ("ok", "404", "404"), "admin_a": ("ok", "404", "404"),
        "reporter_b": ("404", "ok", "404"), "province": ("403", "403", "404")},
    "activities.edit POST": {
        "anonymous": LOGIN3, "reporter_a": ("ok", "404", "404"), "admin_a": ("ok", "404", "404"),
        "reporter_b": ("404", "ok", "404"), "province": ("403", "403", "404")},
    "activities.export_csv GET": {
        "anonymous": "login", "reporter_a": "ok", "admin_a": "ok",
        "reporter_b": "ok", "province": "ok"},
    "activities.export_xlsx GET": {
        "anonymous": "login", "reporter_a": "ok", "admin_a": "ok",
        "reporter_b": "ok", "province": "ok"},
    "activities.figures GET": {
        "anonymous": "login", "reporter_a": "ok", "admin_a": "ok",
        "reporter_b": "ok", "province": "ok"},
    "activities.history GET": {
        "anonymous": LOGIN3, "reporter_a": ("ok", "404", "404"), "admin_a": ("ok", "404", "404"),
        "reporter_b": ("404", "ok", "404"), "province": ("ok", "ok", "404")},
    "activities.index GET": {
        "anonymous": "login", "reporter_a": "ok", "admin_a": "ok",
        "reporter_b": "ok", "province": "ok"},
    "activities.new GET": {
        "anonymous": "login", "reporter_a": "ok", "admin_a": "ok",
        "reporter_b": "ok", "province": "ok"},
    "activities.new POST": {
        "anonymous": "login", "reporter_a": "ok", "admin_a": "ok",
        "reporter_b": "ok", "province": "ok"},
    "activities.outbox_session GET": {
        "anonymous": "login", "reporter_a": "ok", "admin_a": "ok",
        "reporter_b": "ok", "province": "ok"},
    "activities.quick GET": {
        "anonymous": "login", "reporter_a": "ok", "admin_a": "ok",
        "reporter_b": "ok", "province": "ok"},
    "activities.quick POST": {
        "anonymous": "login", "reporter_a": "ok", "admin_a": "ok",
        "reporter_b": "ok", "province": "ok"},
    "activities.submit POST": {
        "anonymous": LOGIN3, "reporter_a": ("ok", "404", "404"), "admin_a": ("ok", "404", "404"),
        "reporter_b": ("404", "ok", "404"), "province": ("403", "403", "404")},
    "admin.add_unit POST": {
        "anonymous": "login", "reporter_a": "403", "admin_a": "ok",
        "reporter_b": "403", "province": "ok"},
    "admin.audit GET": {
        "anonymous": "login", "reporter_a": "403", "admin_a": "403",
        "reporter_b": "403", "province": "ok"},
    "admin.disable_user POST": {
        "anonymous": LOGIN3, "reporter_a": ("403", "403", "403"), "admin_a": ("ok", "404", "404"),
        "reporter_b": ("403", "403", "403"), "province": ("ok", "ok", "404")},
    "admin.enable_user POST": {
        "anonymous": LOGIN3, "reporter_a": ("403", "403", "403"), "admin_a": ("ok", "404", "404"),
        "reporter_b": ("403", "403", "403"), "province": ("ok", "ok", "404")},
    "admin.move POST": {
        "anonymous": LOGIN3, "reporter_a": ("403", "403", "403"), "admin_a": ("403", "404", "404"),
        "reporter_b": ("403", "403", "403"), "province": ("ok", "ok", "404")},
    "admin.move_user GET": {
        "anonymous": LOGIN3, "reporter_a": ("403", "403", "403"), "admin_a": ("ok", "404", "404"),
        "reporter_b": ("403", "403", "403"), "province": ("ok", "ok", "404")},
    "admin.move_user POST": {
        "anonymous": LOGIN3, "reporter_a": ("403", "403", "403"), "admin_a": ("ok", "404", "404"),
        "reporter_b": ("403", "403", "403"), "province": ("ok", "ok", "404")},
    "admin.new_user GET": {
        "anonymous": "login", "reporter_a": "403", "admin_a": "ok",
        "reporter_b": "403", "province": "ok"},
    "admin.new_user POST": {
        "anonymous": "login", "reporter_a": "403", "admin_a": "ok",
        "reporter_b": "403", "province": "ok"},
    "admin.rename POST": {
        "anonymous": LOGIN3, "reporter_a": ("403", "403", "403"), "admin_a": ("403", "404", "404"),
        "reporter_b": ("403", "403", "403"), "province": ("ok", "ok", "404")},
    "admin.retire POST": {
        "anonymous": LOGIN3, "reporter_a": ("403", "403", "403"), "admin_a": ("403", "404", "404"),
        "reporter_b": ("403", "403", "403"), "province": ("ok", "ok", "404")},
    "admin.units GET": {
        "anonymous": "login", "reporter_a": "403", "admin_a": "ok",
        "reporter_b": "403", "province": "ok"},
    "admin.users GET": {
        "anonymous": "login", "reporter_a": "403", "admin_a": "ok",
        "reporter_b": "403", "province": "ok"},
    "auth.login GET": {"anonymous": "ok", "reporter_a": "ok", "admin_a": "ok", "reporter_b": "ok", "province": "ok"},
    "auth.login POST": {"anonymous": "ok", "reporter_a": "ok", "admin_a": "ok", "reporter_b": "ok", "province": "ok"},
    "auth.logout POST": {
        "anonymous": "login", "reporter_a": "login", "admin_a": "login",
        "reporter_b": "login", "province": "login"},
    "auth.password GET": {
        "anonymous": "login", "reporter_a": "ok", "admin_a": "ok",
        "reporter_b": "ok", "province": "ok"},
    "auth.password POST": {
        "anonymous": "login", "reporter_a": "ok", "admin_a": "ok",
        "reporter_b": "ok", "province": "ok"},
    "board.activate POST": {
        "anonymous": LOGIN3, "reporter_a": ("403", "403", "403"), "admin_a": ("403", "403", "403"),
        "reporter_b": ("403", "403", "403"), "province": ("ok", "ok", "404")},
    "board.campaigns GET": {
        "anonymous": "login", "reporter_a": "403", "admin_a": "403",
        "reporter_b": "403", "province": "ok"},
    "board.clone POST": {
        "anonymous": LOGIN3, "reporter_a": ("403", "403", "403"), "admin_a": ("403", "403", "403"),
        "reporter_b": ("403", "403", "403"), "province": ("ok", "ok", "404")},
    "board.highlights GET": {
        "anonymous": "login", "reporter_a": "403", "admin_a": "403",
        "reporter_b": "403", "province": "ok"},
    "board.highlights_zip GET": {
        "anonymous": "login", "reporter_a": "403", "admin_a": "403",
        "reporter_b": "403", "province": "ok"},
    "board.due_date POST": {
        "anonymous": "login", "reporter_a": "403", "admin_a": "ok",
        "reporter_b": "403", "province": "ok"},
    "board.index GET": {
        "anonymous": "login", "reporter_a": "403", "admin_a": "ok",
        "reporter_b": "403", "province": "ok"},
    "board.read POST": {
        "anonymous": LOGIN3, "reporter_a": ("ok", "404", "404"), "admin_a": ("ok", "404", "404"),
        "reporter_b": ("404", "ok", "404"), "province": ("404", "404", "404")},
    "board.read_all POST": {
        "anonymous": "login", "reporter_a": "ok", "admin_a": "ok",
        "reporter_b": "ok", "province": "ok"},
    "board.reminders GET": {
        "anonymous": "login", "reporter_a": "ok", "admin_a": "ok",
        "reporter_b": "ok", "province": "ok"},
    "board.reopen POST": {
        "anonymous": LOGIN3, "reporter_a": ("403", "403", "403"), "admin_a": ("403", "404", "404"),
        "reporter_b": ("403", "403", "403"), "province": ("ok", "ok", "404")},
    "board.send POST": {
        "anonymous": "login", "reporter_a": "403", "admin_a": "ok",
        "reporter_b": "403", "province": "ok"},
    "board.stats GET": {
        "anonymous": "login", "reporter_a": "403", "admin_a": "403",
        "reporter_b": "403", "province": "ok"},
    "board.unit GET": {
        "anonymous": LOGIN3, "reporter_a": ("403", "403", "403"), "admin_a": ("403", "404", "404"),
        "reporter_b": ("403", "403", "403"), "province": ("ok", "ok", "404")},
    "board.upload_campaign POST": {
        "anonymous": "login", "reporter_a": "403", "admin_a": "403",
        "reporter_b": "403", "province": "ok"},
    "main.campaign GET": {
        "anonymous": "login", "reporter_a": "ok", "admin_a": "ok",
        "reporter_b": "ok", "province": "ok"},
    "main.countdown GET": {
        "anonymous": "login", "reporter_a": "ok", "admin_a": "ok",
        "reporter_b": "ok", "province": "ok"},
    "main.healthz GET": {
        "anonymous": "ok", "reporter_a": "ok", "admin_a": "ok",
        "reporter_b": "ok", "province": "ok"},
    "main.service_worker GET": {
        "anonymous": "ok", "reporter_a": "ok", "admin_a": "ok",
        "reporter_b": "ok", "province": "ok"},
    "main.home GET": {
        "anonymous": "login", "reporter_a": "ok", "admin_a": "ok",
        "reporter_b": "ok", "province": "ok"},
    "photos.caption POST": {
        "anonymous": LOGIN3, "reporter_a": ("ok", "404", "404"), "admin_a": ("ok", "404", "404"),
        "reporter_b": ("404", "ok", "404"), "province": ("403", "403", "404")},
    "photos.cover POST": {
        "anonymous": LOGIN3, "reporter_a": ("ok", "404", "404"), "admin_a": ("ok", "404", "404"),
        "reporter_b": ("404", "ok", "404"), "province": ("403", "403", "404")},
    "photos.delete GET": {
        "anonymous": LOGIN3, "reporter_a": ("ok", "404", "404"), "admin_a": ("ok", "404", "404"),
        "reporter_b": ("404", "ok", "404"), "province": ("403", "403", "404")},
    "photos.delete POST": {
        "anonymous": LOGIN3, "reporter_a": ("ok", "404", "404"), "admin_a": ("ok", "404", "404"),
        "reporter_b": ("404", "ok", "404"), "province": ("403", "403", "404")},
    "photos.delete_file POST": {
        "anonymous": LOGIN3, "reporter_a": ("ok", "404", "404"), "admin_a": ("ok", "404", "404"),
        "reporter_b": ("404", "ok", "404"), "province": ("403", "403", "404")},
    "photos.download GET": {
        "anonymous": LOGIN3, "reporter_a": ("ok", "404", "404"), "admin_a": ("ok", "404", "404"),
        "reporter_b": ("404", "ok", "404"), "province": ("ok", "ok", "404")},
    "photos.move POST": {
        "anonymous": LOGIN3, "reporter_a": ("ok", "404", "404"), "admin_a": ("ok", "404", "404"),
        "reporter_b": ("404", "ok", "404"), "province": ("403", "403", "404")},
    "photos.serve GET": {
        "anonymous": LOGIN3, "reporter_a": ("ok", "404", "404"), "admin_a": ("ok", "404", "404"),
        "reporter_b": ("404", "ok", "404"), "province": ("ok", "ok", "404")},
    "photos.create_photo_upload POST": {
        "anonymous": LOGIN3, "reporter_a": ("ok", "404", "404"), "admin_a": ("ok", "404", "404"),
        "reporter_b": ("404", "ok", "404"), "province": ("403", "403", "404")},
    "photos.create_staged_photo_upload POST": {
        "anonymous": LOGIN3, "reporter_a": ("ok", "ok", "ok"), "admin_a": ("ok", "ok", "ok"),
        "reporter_b": ("ok", "ok", "ok"), "province": ("ok", "ok", "ok")},
    # A photo sent in pieces is its uploader's alone, like a staged photo (A's was started by reporter_a).
    "photos.upload_status GET": {
        "anonymous": LOGIN3, "reporter_a": ("ok", "404", "404"), "admin_a": ("404", "404", "404"),
        "reporter_b": ("404", "ok", "404"), "province": ("404", "404", "404")},
    "photos.upload_chunk PATCH": {
        "anonymous": LOGIN3, "reporter_a": ("ok", "404", "404"), "admin_a": ("404", "404", "404"),
        "reporter_b": ("404", "ok", "404"), "province": ("404", "404", "404")},
    "photos.upload POST": {
        "anonymous": LOGIN3, "reporter_a": ("ok", "404", "404"), "admin_a": ("ok", "404", "404"),
        "reporter_b": ("404", "ok", "404"), "province": ("403", "403", "404")},
    "photos.upload_file POST": {
        "anonymous": LOGIN3, "reporter_a": ("ok", "404", "404"), "admin_a": ("ok", "404", "404"),
        "reporter_b": ("404", "ok", "404"), "province": ("403", "403", "404")},
    "photos.upload_file_staged POST": {
        "anonymous": LOGIN3, "reporter_a": ("ok", "ok", "ok"), "admin_a": ("ok", "ok", "ok"),
        "reporter_b": ("ok", "ok", "ok"), "province": ("ok", "ok", "ok")},
    "photos.upload_staged POST": {
        "anonymous": LOGIN3, "reporter_a": ("ok", "ok", "ok"), "admin_a": ("ok", "ok", "ok"),
        "reporter_b": ("ok", "ok", "ok"), "province": ("ok", "ok", "ok")},
    "reports.bulletin_pdf GET": {
        "anonymous": LOGIN3, "reporter_a": ("403", "403", "403"), "admin_a": ("403", "403", "403"),
        "reporter_b": ("403", "403", "403"), "province": ("ok", "ok", "404")},
    "reports.bulletin_pdf_status GET": {
        "anonymous": LOGIN3, "reporter_a": ("403", "403", "403"), "admin_a": ("403", "403", "403"),
        "reporter_b": ("403", "403", "403"), "province": ("ok", "ok", "404")},
    "reports.bulletin_preview GET": {
        "anonymous": LOGIN3, "reporter_a": ("403", "403", "403"), "admin_a": ("403", "403", "403"),
        "reporter_b": ("403", "403", "403"), "province": ("ok", "ok", "404")},
    "reports.bulletins GET": {
        "anonymous": "login", "reporter_a": "403", "admin_a": "403",
        "reporter_b": "403", "province": "ok"},
    "reports.edit_bulletin GET": {
        "anonymous": LOGIN3, "reporter_a": ("403", "403", "403"), "admin_a": ("403", "403", "403"),
        "reporter_b": ("403", "403", "403"), "province": ("ok", "ok", "404")},
    "reports.edit_bulletin POST": {
        "anonymous": LOGIN3, "reporter_a": ("403", "403", "403"), "admin_a": ("403", "403", "403"),
        "reporter_b": ("403", "403", "403"), "province": ("ok", "ok", "404")},
    "reports.index GET": {
        "anonymous": "login", "reporter_a": "ok", "admin_a": "ok",
        "reporter_b": "ok", "province": "ok"},
    "reports.new_bulletin POST": {
        "anonymous": "login", "reporter_a": "403", "admin_a": "403",
        "reporter_b": "403", "province": "ok"},
    "reports.province_pdf GET": {
        "anonymous": "login", "reporter_a": "403", "admin_a": "403",
        "reporter_b": "403", "province": "ok"},
    "reports.province_pdf_status GET": {
        "anonymous": "login", "reporter_a": "403", "admin_a": "403",
        "reporter_b": "403", "province": "ok"},
    "reports.province_preview GET": {
        "anonymous": "login", "reporter_a": "403", "admin_a": "403",
        "reporter_b": "403", "province": "ok"},
    "reports.reports_zip GET": {
        "anonymous": LOGIN3, "reporter_a": ("403", "403", "403"), "admin_a": ("403", "403", "403"),
        "reporter_b": ("403", "403", "403"), "province": ("ok", "ok", "404")},
    "reports.reports_zip_download GET": {
        "anonymous": LOGIN3, "reporter_a": ("403", "403", "403"), "admin_a": ("403", "403", "403"),
        "reporter_b": ("403", "403", "403"), "province": ("ok", "ok", "404")},
    "reports.start_reports_zip POST": {
        "anonymous": "login", "reporter_a": "403", "admin_a": "403",
        "reporter_b": "403", "province": "ok"},
    "reports.reopen POST": {
        "anonymous": LOGIN3, "reporter_a": ("403", "404", "404"), "admin_a": ("403", "404", "404"),
        "reporter_b": ("404", "403", "404"), "province": ("ok", "ok", "404")},
    "reports.save_section POST": {
        "anonymous": LOGIN3, "reporter_a": ("403", "404", "404"), "admin_a": ("ok", "404", "404"),
        "reporter_b": ("404", "403", "404"), "province": ("403", "403", "404")},
    "reports.submit POST": {
        "anonymous": LOGIN3, "reporter_a": ("403", "404", "404"), "admin_a": ("ok", "404", "404"),
        "reporter_b": ("404", "403", "404"), "province": ("403", "403", "404")},
    "reports.unit_pdf GET": {
        "anonymous": LOGIN3, "reporter_a": ("ok", "404", "404"), "admin_a": ("ok", "404", "404"),
        "reporter_b": ("404", "ok", "404"), "province": ("ok", "ok", "404")},
    "reports.unit_pdf_status GET": {
        "anonymous": LOGIN3, "reporter_a": ("ok", "404", "404"), "admin_a": ("ok", "404", "404"),
        "reporter_b": ("404", "ok", "404"), "province": ("ok", "ok", "404")},
    "reports.unit_preview GET": {
        "anonymous": LOGIN3, "reporter_a": ("ok", "404", "404"), "admin_a": ("ok", "404", "404"),
        "reporter_b": ("404", "ok", "404"), "province": ("ok", "ok", "404")},
    "reports.unit_report GET": {
        "anonymous": LOGIN3, "reporter_a": ("ok", "404", "404"), "admin_a": ("ok", "404", "404"),
        "reporter_b": ("404", "ok", "404"), "province": ("ok", "ok", "404")},
    "reports.upload_scan POST": {
        "anonymous": LOGIN3, "reporter_a": ("403", "404", "404"), "admin_a": ("ok", "404", "404"),
        "reporter_b": ("404", "403", "404"), "province": ("403", "403", "404")},
    "reports.download_scan GET": {
        "anonymous": LOGIN3, "reporter_a": ("ok", "404", "404"), "admin_a": ("ok", "404", "404"),
        "reporter_b": ("404", "ok", "404"), "province": ("ok", "ok", "404")},
    "reports.unit_word GET": {
        "anonymous": LOGIN3, "reporter_a": ("ok", "404", "404"), "admin_a": ("ok", "404", "404"),
        "reporter_b": ("404", "ok", "404"), "province": ("ok", "ok", "404")},
    "reviews.accept POST": {
        "anonymous": LOGIN3, "reporter_a": ("403", "403", "403"), "admin_a": ("403", "404", "404"),
        "reporter_b": ("403", "403", "403"), "province": ("ok", "ok", "404")},
    "reviews.bulk POST": {
        "anonymous": "login", "reporter_a": "403", "admin_a": "ok",
        "reporter_b": "403", "province": "ok"},
    "reviews.highlight POST": {
        "anonymous": LOGIN3, "reporter_a": ("403", "403", "403"), "admin_a": ("403", "404", "404"),
        "reporter_b": ("403", "403", "403"), "province": ("ok", "ok", "404")},
    "reviews.queue GET": {
        "anonymous": "login", "reporter_a": "403", "admin_a": "ok",
        "reporter_b": "403", "province": "ok"},
    "reviews.return_ POST": {
        "anonymous": LOGIN3, "reporter_a": ("403", "403", "403"), "admin_a": ("403", "404", "404"),
        "reporter_b": ("403", "403", "403"), "province": ("ok", "ok", "404")},
    "static GET": {
        "anonymous": ("ok", "ok", "404"), "reporter_a": ("ok", "ok", "404"), "admin_a": ("ok", "ok", "404"),
        "reporter_b": ("ok", "ok", "404"), "province": ("ok", "ok", "404")},
}
