from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from apps.projects.selectors import project_list


@login_required
def home(request):
    return render(request, "projects/home.html", {"projects": project_list(user=request.user)})
