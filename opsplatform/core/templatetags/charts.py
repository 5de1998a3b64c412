"""``{% chart spec %}``: render a :class:`opsplatform.core.charts.Chart` the views built.

Views build the chart from their figures (they know the labels, units and colours); templates only
place it::

    {% load charts %}
    {% chart trend_chart %}
"""

from django import template

from opsplatform.core import charts

register = template.Library()


@register.simple_tag
def chart(spec):
    if spec is None:
        return ""
    if not isinstance(spec, charts.Chart):
        raise template.TemplateSyntaxError("{% chart %} takes a Chart built by the view")
    return charts.render(spec)
