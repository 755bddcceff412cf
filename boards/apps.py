from django.apps import AppConfig


class BoardsConfig(AppConfig):
    name = "boards"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from boards.models import BoardPack
        from gmhsc.jobs import JobKind, register

        # Board packs carry a heartbeat like every background job (gmhsc/jobs.py).
        register(
            JobKind(
                label="board pack",
                model=BoardPack,
                unfinished=(BoardPack.Status.QUEUED, BoardPack.Status.BUILDING),
                failed=BoardPack.Status.FAILED,
                message_field="error",
                created_field="requested_at",
                resend=lambda pack: ("boards.tasks.build_pack", (pack.pk,)),
            )
        )
