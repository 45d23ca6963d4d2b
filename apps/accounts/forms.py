from django import forms
from django.contrib.auth.forms import AuthenticationForm

from apps.accounts.lockout import client_address, login_locked_message, login_lockout_seconds


class LoginForm(AuthenticationForm):
    """Django's login form, which first refuses a locked username with how long the lock lasts."""

    retry_after = 0  # seconds; set when the username is locked

    def clean(self):
        username = self.cleaned_data.get("username")
        if username and self.request is not None:
            self.retry_after = login_lockout_seconds(username=username, address=client_address(self.request))
            if self.retry_after:
                raise forms.ValidationError(login_locked_message(self.retry_after), code="locked")
        return super().clean()
