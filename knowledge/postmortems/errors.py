"""Why a postmortem write was refused beyond bad input: both answer 409 on the API."""


class RevisionConflict(Exception):
    """The save started from a revision that is no longer the latest: someone else saved first."""

    def __init__(self, *, base: int, current: int):
        self.base, self.current = base, current
        super().__init__(
            f"Someone else saved revision {current} while you edited revision {base}: "
            "reload to see their changes, then save again."
        )


class ReadOnly(Exception):
    """The postmortem is published (or in review, for what review freezes) and cannot change."""
