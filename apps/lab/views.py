"""The learning lab's pages: one concept each, explained and shown live on the selected project."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.lab import selectors
from apps.lab.models import LabExperiment
from apps.lab.services import lab_backprop_example
from apps.projects.access import can_contribute, project_role
from apps.projects.selectors import project_list
from apps.training.project_autoencoder import version_autoencoder_state

TOPICS = (
    ("overfitting", gettext_lazy("Overfitting and generalization"), "bi-graph-up"),
    ("cross-validation", gettext_lazy("Cross-validation"), "bi-grid-3x3"),
    ("labeling", gettext_lazy("Labeling"), "bi-tags"),
    ("compression", gettext_lazy("Quantization and pruning"), "bi-file-zip"),
    ("unsupervised", gettext_lazy("Unsupervised learning"), "bi-diagram-3"),
    ("reinforcement", gettext_lazy("Reinforcement learning"), "bi-joystick"),
    ("backprop", gettext_lazy("Neural networks and backpropagation"), "bi-bezier2"),
    ("generative", gettext_lazy("Generative models"), "bi-magic"),
)
TOPIC_KINDS = {
    "overfitting": [LabExperiment.Kind.OVERFITTING],
    "cross-validation": [LabExperiment.Kind.SPLITS],
    "labeling": [LabExperiment.Kind.LABEL_NOISE],
    "compression": [LabExperiment.Kind.COMPRESSION],
    "unsupervised": [LabExperiment.Kind.CLUSTERS],
    "reinforcement": [LabExperiment.Kind.BANDIT],
    "backprop": [],
    "generative": [LabExperiment.Kind.AUTOENCODER],
}
SESSION_KEY = "lab_project"


def _selected_project(request):
    projects = project_list(user=request.user)
    slug = request.GET.get("project") or request.session.get(SESSION_KEY)
    project = projects.filter(slug=slug).first() if slug else None
    if project is None and request.GET.get("project"):
        raise Http404(_("The project does not exist or you are not a member of it."))
    if project is None:
        project = projects.order_by("name").first()
    if project is not None:
        request.session[SESSION_KEY] = project.slug
    return project, projects


def _texts():
    """Words the charts need, translated once here so the scripts stay language-free."""
    return {
        "loss": _("training loss"),
        "val_loss": _("validation loss"),
        "accuracy": _("training accuracy"),
        "val_accuracy": _("validation accuracy"),
        "epoch": _("epoch"),
        "best_epoch": _("lowest validation loss"),
        "turn_epoch": _("validation loss turns up"),
        "plain": _("without augmentation or dropout"),
        "regularized": _("with augmentation and dropout"),
        "fold": _("fold"),
        "mean": _("mean"),
        "single_split": _("single split"),
        "train_images": _("labeled training images"),
        "holdout_accuracy": _("accuracy on the sealed test photos"),
        "flipped": _("flipped labels (%)"),
        "test_accuracy": _("accuracy on clean images"),
        "weights": _("weights"),
        "weight_value": _("weight value"),
        "cluster": _("cluster"),
        "label": _("label"),
        "unlabeled": _("unlabeled"),
        "reward": _("reward"),
        "mean_reward": _("agent: running mean reward"),
        "random_reward": _("random choice: running mean reward"),
        "step": _("step"),
        "value": _("estimated value"),
        "times": _("times chosen"),
        "queued": _("Queued"),
        "running": _("Running"),
        "succeeded": _("Finished"),
        "failed": _("Failed"),
        "error": _("The experiment failed"),
        "seconds": _("seconds"),
        "wrong": _("Not quite."),
        "size": _("size"),
        "latency": _("latency"),
        "zeros": _("exact zeros"),
        "distinct": _("distinct values"),
        "input": _("input"),
        "reconstruction": _("reconstruction"),
        "worst_copied": _("Autoencoder: the photos it copies worst (reconstruction error)"),
        "error_map": _("error map"),
        "no_reconstruction": _("This model's autoencoder does not export its reconstruction."),
        "policy": _("augmentation policy"),
        "verdicts": _verdicts(),
        "advice": _advice(),
        "signals": _signals(),
        "variants": {"fp32": _("fp32 (pruned, served)"), "int8": _("int8"), "unpruned": _("fp32 unpruned")},
        "seeds_gap": _("Over %(n)s seeds (other small sets of your photos), validation loss minus training loss at the end "
                       "was %(plain)s ± %(plain_std)s without regularization and %(reg)s ± %(reg_std)s with augmentation "
                       "and dropout."),
        "seeds_holds": _("Here regularization narrows the gap on almost every seed: the network memorises less."),
        "seeds_not": _("Here regularization does not narrow the gap clearly: with so few photos the gap changes a lot from "
                       "one seed to another. That is an honest result: regularization helps on average, not every time."),
        "bp_plain": _("Step %(step)s: the network gives %(p)s to “%(label)s”, the right answer, and its error (the loss) "
                      "is %(loss)s."),
        "bp_start": _("Before learning, the network guesses: press “Next step” and watch the right answer's share grow."),
    }


def _verdicts():
    return {
        "overfitting": _("Overfitting: the network is memorising its training photos."),
        "underfitting": _("Underfitting: the network has not learned enough yet, not even on its training photos."),
        "fine": _("Good generalization: training and validation go together."),
        "too_short": _("Too few epochs to say anything: there is no trend yet."),
        "unknown": _("This run has no validation curve, so the coach cannot judge it."),
    }


def _advice():
    return {
        "early_stopping": _(
            "Stop earlier: keep the weights of the epoch with the lowest validation loss (early stopping)."
        ),
        "augmentation": _("Use stronger data augmentation, so each photo is seen in new versions."),
        "dropout": _("Raise dropout (or L2) so the network cannot rely on a few features."),
        "more_data": _("Label more photos, especially of the classes it confuses."),
        "more_epochs": _("Train for more epochs: validation loss was still going down."),
        "bigger_model": _("Try a larger backbone or fine-tune more layers."),
        "check_labels": _("Check the labels: wrong labels make the task impossible to learn."),
        "keep": _("Keep these settings; to gain more, add more varied photos."),
    }


def _signals():
    return {
        "val_loss_rises": _("The validation loss went up after its best epoch while the training loss kept falling."),
        "gap_grows": _("The gap between validation and training loss grew during training."),
        "accuracy_gap": _("Training accuracy is much higher than validation accuracy."),
        "train_accuracy_low": _("Accuracy is low even on the training photos."),
        "still_improving": _("The validation loss was still falling at the last epoch."),
        "val_below_train": _(
            "The validation loss stayed below the training loss: augmentation and dropout make the training "
            "photos harder than the validation ones. That is not overfitting."
        ),
    }


def _topic_context(topic, project):
    if project is None:
        return {}
    if topic == "overfitting":
        return {"runs": selectors.overfitting_runs(project=project), "shares": selectors.three_shares(project=project)}
    if topic == "cross-validation":
        return {"kfold": selectors.kfold_versions(project=project), "shares": selectors.three_shares(project=project)}
    if topic == "labeling":
        from apps.labeling.quality import label_quality, labeling_curve

        counts = {name: project.images.filter(label=name, split="train").count() for name in project.classes}
        return {
            "curve": selectors.learning_curve(project=project),
            "label_counts": counts,
            "quality": label_quality(project, suspects=False),
            "quick_curve": labeling_curve(project),
        }
    if topic == "compression":
        return {"compression": selectors.compression_versions(project=project)}
    if topic == "reinforcement":
        version = selectors.active_version(project=project)
        clusters = selectors.lab_experiment_latest(project=project, kind=LabExperiment.Kind.CLUSTERS)
        bandit = selectors.lab_experiment_latest(project=project, kind=LabExperiment.Kind.BANDIT)
        return {
            "comparison": {
                "supervised": version.test_accuracy if version else None,
                "holdout_n": version.test_n if version else None,
                "unsupervised": ((clusters.result or {}).get("agreement") or {}).get("matched_accuracy")
                if clusters and clusters.result
                else None,
                "reinforcement": policy_name(bandit.result.get("agent", {}).get("best"))
                if bandit and bandit.result
                else None,
                "reinforcement_value": max(bandit.result["agent"]["values"].values())
                if bandit and bandit.result
                else None,
            }
        }
    if topic == "backprop":
        return {"backprop": lab_backprop_example(project=project)}
    if topic == "generative":
        version = selectors.active_version(project=project)
        return {"autoencoder_state": version_autoencoder_state(version=version) if version else None}
    return {}



# The bandit's augmentation policies in words (keys of ml.lab.bandit.POLICIES; static/js/lab.js names them too).
POLICY_NAMES = {
    "none": gettext_lazy("no changes"),
    "flip": gettext_lazy("mirror"),
    "bright": gettext_lazy("brighter"),
    "dark": gettext_lazy("darker"),
    "crop": gettext_lazy("crop"),
    "flip+crop": gettext_lazy("mirror and crop"),
    "all": gettext_lazy("all of them"),
}


def policy_name(key):
    """Return a bandit policy's name in words (its key when it has none; None stays None)."""
    return None if key is None else str(POLICY_NAMES.get(key, key))

@login_required
def lab_index(request):
    """The lab's table of contents, with the project the demonstrations use."""
    project, projects = _selected_project(request)
    return render(
        request,
        "lab/index.html",
        {
            "topics": TOPICS,
            "lab_project": project,
            "projects": projects,
            "active_version": selectors.active_version(project=project) if project else None,
        },
    )


@login_required
def lab_topic(request, topic):
    """One lab page: explanation, live demonstration on the project and questions."""
    titles = {slug: (title, icon) for slug, title, icon in TOPICS}
    if topic not in titles:
        raise Http404
    project, projects = _selected_project(request)
    latest = {}
    if project is not None:
        for kind in TOPIC_KINDS[topic]:
            latest[kind] = selectors.lab_experiment_json(selectors.lab_experiment_latest(project=project, kind=kind))
    context = {
        "topics": TOPICS,
        "topic": topic,
        "topic_title": titles[topic][0],
        "lab_project": project,
        "projects": projects,
        "active_version": selectors.active_version(project=project) if project else None,
        "can_experiment": bool(project and can_contribute(user=request.user, project=project)),
        "role": project_role(user=request.user, project=project) if project else None,
        "latest": latest,
        "texts": _texts(),
        **_topic_context(topic, project),
    }
    return render(request, f"lab/{topic.replace('-', '_')}.html", context)
