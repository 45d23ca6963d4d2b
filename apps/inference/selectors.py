from apps.inference.models import Analysis


def analysis_for_image(*, image, version_number=None, ran_on="server") -> Analysis | None:
    """Return the stored analysis of an image by a version number (default: the active version)."""
    qs = Analysis.objects.filter(image=image, ran_on=ran_on).select_related("model_version")
    if version_number is not None:
        return qs.filter(model_version__number=version_number).first()
    return qs.filter(model_version__status="active").first()
