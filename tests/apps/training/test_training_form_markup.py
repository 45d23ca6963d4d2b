"""The retraining form's markup: every box has its own label and a group of boxes is a fieldset, not a label for nothing."""
from html.parser import HTMLParser

import pytest


class _FormMarkup(HTMLParser):
    """Collect label targets, checkbox ids and whether each checkbox sits inside a .form-check."""

    def __init__(self):
        super().__init__()
        self.label_targets, self.checkboxes, self.stack = [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "label":
            self.label_targets.append(attrs.get("for"))
        if tag == "input" and attrs.get("type") == "checkbox":
            in_form_check = any("form-check" in (classes or "").split() for _tag, classes in self.stack)
            self.checkboxes.append((attrs.get("id"), in_form_check))
        if tag not in ("input", "br", "img", "meta", "link"):
            self.stack.append((tag, attrs.get("class")))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break


@pytest.mark.django_db
def test_training_form_checkboxes_have_their_own_labels(world, client):
    """«Cuantización»: each box is labelled and laid out by Bootstrap's form-check (it was drawn over the next field)."""
    client.force_login(world.teacher)
    html = client.get(f"/projects/{world.project.slug}/training/").content.decode()
    markup = _FormMarkup()
    markup.feed(html)
    assert markup.checkboxes, "the form has the quantization boxes"
    assert "" not in markup.label_targets and None not in markup.label_targets
    for box_id, in_form_check in markup.checkboxes:
        assert box_id in markup.label_targets, box_id
        assert in_form_check, box_id
    assert "<legend" in html
