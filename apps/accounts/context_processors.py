def roles(request):
    """Expose the user's role to templates for role-aware navigation."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"user_role": None}
    return {"user_role": "teacher" if user.is_teacher else user.role}
