"""factory_boy factories for the platform's models."""
import io

import factory
from PIL import Image as PILImage

from apps.accounts import roles


def image_bytes(color=(200, 30, 30), size=(64, 48), fmt="JPEG", **save_kwargs) -> bytes:
    """Return the bytes of a small generated image."""
    out = io.BytesIO()
    PILImage.new("RGB", size, color).save(out, format=fmt, **save_kwargs)
    return out.getvalue()


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "accounts.User"
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "pass-12345")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create:
            if extracted:
                roles.role_assign(self, extracted)
            self.save()  # persists the password set above


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "projects.Project"
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Proyecto {n}")
    slug = factory.Sequence(lambda n: f"proyecto-{n}")
    classes = ["gato", "perro"]
    # Tests give the platform a random-weight MobileNet 0.25 in a weights folder (milliseconds per photo);
    # a project created the way teachers create one gets the registry's classroom default instead.
    backbone = "mobilenet"
    owner = factory.SubFactory(UserFactory, role=roles.TEACHER)

    @factory.post_generation
    def members(self, create, extracted, **kwargs):
        from apps.projects.models import Membership

        if create:
            Membership.objects.get_or_create(project=self, user=self.owner, defaults={"role": "teacher"})
            for user, role in extracted or []:
                Membership.objects.create(project=self, user=user, role=role)
