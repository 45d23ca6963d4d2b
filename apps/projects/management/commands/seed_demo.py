from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from apps.accounts import roles
from apps.accounts.passwords import readable_password
from apps.projects.models import Membership, Project
from apps.projects.services import project_create

DEMO_USERS = (("docente", roles.TEACHER), ("estudiante", roles.STUDENT), ("evaluador", roles.GRADER))


class Command(BaseCommand):
    help = "Create a demo teacher, student and grader and the demo project perros-y-gatos (idempotent)."

    @transaction.atomic
    def handle(self, **options):
        User = get_user_model()
        created = []
        users = {}
        for username, role in DEMO_USERS:
            user = User.objects.filter(username=username).first()
            if user is None:
                password = readable_password()
                user = User.objects.create_user(username=username, password=password)
                roles.role_assign(user, role)
                if role == roles.TEACHER:
                    user.is_staff = True  # the demo teacher can use the admin's retrain action
                    user.save(update_fields=["is_staff"])
                created.append((username, role, password))
            users[role] = user
        project = Project.objects.filter(slug="perros-y-gatos").first()
        if project is None:
            project = project_create(
                owner=users[roles.TEACHER],
                name="Perros y gatos",
                slug="perros-y-gatos",
                classes=["gato", "perro"],
                description="Proyecto de demostración: ¿gato o perro?",
                tag_vocabulary=["interior", "exterior", "cachorro"],
            )
        for role in (roles.STUDENT, roles.GRADER):
            Membership.objects.get_or_create(project=project, user=users[role], defaults={"role": role})
        if created:
            self.stdout.write("Demo accounts (shown once, keep them):")
            for username, role, password in created:
                self.stdout.write(f"  {role:8} {username} / {password}")
        else:
            self.stdout.write("Demo accounts already exist.")
        self.stdout.write(self.style.SUCCESS(f"Demo project: {project.slug} (join code {project.join_code})"))
