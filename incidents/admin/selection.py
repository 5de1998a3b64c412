"""Admin actions read the selected rows' ids from the form; Django turns them into a ``pk__in``
filter that raises on "²" (``str.isdigit()`` true, ``int()`` refuses). A selection that is not all
ids runs no action at all."""

from django.contrib import messages
from django.contrib.admin import helpers
from django.http import HttpResponseRedirect

from opsplatform.core.ids import parse_id


class StrictSelection:
    def response_action(self, request, queryset):
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        if any(parse_id(value) is None for value in selected):
            self.message_user(
                request, "Nothing was done: the selection holds something that is not an id.", messages.ERROR
            )
            return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset)
