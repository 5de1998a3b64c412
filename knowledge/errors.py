"""What the knowledge services refuse beyond plain validation."""


class RevisionConflict(Exception):
    """The save was based on a revision that is no longer the article's current one."""

    def __init__(self, *, base: int | None, current: int | None):
        self.base = base
        self.current = current
        super().__init__(
            f"Someone saved this article since you started (your base is revision {base}, "
            f"the current one is {current}). Reload, merge your change and save again."
        )
