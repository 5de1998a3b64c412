from django import forms

from knowledge.models import Space


class ArticleForm(forms.Form):
    title = forms.CharField(max_length=255)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 22, "class": "mono"}), required=False)
    tags = forms.CharField(required=False, help_text="Comma-separated.")
    space = forms.ModelChoiceField(queryset=Space.objects.none(), required=False, empty_label="General")
    message = forms.CharField(max_length=255, required=False, label="What changed")
    base_revision = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, spaces=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["space"].queryset = spaces if spaces is not None else Space.objects.none()

    def clean_tags(self):
        return [tag.strip() for tag in self.cleaned_data["tags"].split(",") if tag.strip()]


class AttachmentForm(forms.Form):
    file = forms.FileField()
