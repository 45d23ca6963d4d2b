"""The lab's questions: stable ids, texts, options and the right answer, which stays on the server.

A question's id is what answers are recorded under (apps.gradebook.models.QuizAnswer): never
rename or reuse one; a changed question gets a new id.
"""
from dataclasses import dataclass

from django.utils.translation import gettext_lazy


@dataclass(frozen=True)
class Question:
    """One multiple-choice question of a lab page; ``right`` is the 1-based number of the right option."""

    id: str
    topic: str  # the lab page's slug
    text: str
    options: tuple
    right: int
    explanation: str  # shown after a right answer
    hint: str  # shown after a wrong one

    def is_right(self, option: int) -> bool:
        return option == self.right


QUESTIONS = (
    Question(
        "overfitting-val-loss-rises",
        "overfitting",
        gettext_lazy("The training loss keeps falling but the validation loss rises. What is happening?"),
        (
            gettext_lazy("The network is memorising the training photos"),
            gettext_lazy("The network needs more epochs"),
        ),
        right=1,
        explanation=gettext_lazy("Right: that is overfitting. Stop at the epoch with the lowest validation loss, or add augmentation and dropout."),
        hint=gettext_lazy("More epochs would make it worse: the validation loss is already going up."),
    ),
    Question(
        "overfitting-augmentation",
        "overfitting",
        gettext_lazy("Why does data augmentation reduce overfitting?"),
        (
            gettext_lazy("It adds new varied versions of the same photos, so memorising is harder"),
            gettext_lazy("It makes the network bigger"),
        ),
        right=1,
        explanation=gettext_lazy("Yes: flipped, brighter or cropped copies teach the network what does not matter for the class."),
        hint=gettext_lazy("Augmentation does not change the network; it changes what the network sees."),
    ),
    Question(
        "overfitting-dropout",
        "overfitting",
        gettext_lazy("What does dropout do during training?"),
        (
            gettext_lazy("It deletes photos from the dataset"),
            gettext_lazy("It switches off random neurons at each step"),
            gettext_lazy("It lowers the learning rate"),
        ),
        right=2,
        explanation=gettext_lazy("Correct: no neuron can be relied on alone, so the network learns more robust features."),
        hint=gettext_lazy("Dropout acts on neurons, not on photos or on the learning rate."),
    ),
    Question(
        "cv-report-mean",
        "cross-validation",
        gettext_lazy("Two single splits give 0.70 and 0.90. What should you report?"),
        (
            gettext_lazy("The best one, 0.90"),
            gettext_lazy("The mean over several folds, with its spread"),
        ),
        right=2,
        explanation=gettext_lazy("Yes: the mean ± std over folds is honest about the uncertainty."),
        hint=gettext_lazy("Picking the best split is fooling yourself: it depends on luck."),
    ),
    Question(
        "cv-few-photos",
        "cross-validation",
        gettext_lazy("Why does cross-validation matter more with few photos?"),
        (
            gettext_lazy("Each photo weighs a lot, so the split changes the result a lot"),
            gettext_lazy("It makes training faster"),
        ),
        right=1,
        explanation=gettext_lazy("Exactly: with 10 validation photos, one photo is 10 points of accuracy."),
        hint=gettext_lazy("Cross-validation costs k trainings; it is about trust, not speed."),
    ),
    Question(
        "labeling-same-holdout",
        "labeling",
        gettext_lazy("Why is the score you see measured on sealed test photos that no decision reads?"),
        (
            gettext_lazy("Because choosing with a score flatters it: unseen photos keep it honest"),
            gettext_lazy("Because those photos are the easiest"),
        ),
        right=1,
        explanation=gettext_lazy("Right: the best of many tries on the same photos looks better than it is."),
        hint=gettext_lazy("The test share is fixed from each photo's hash, not chosen for being easy."),
    ),
    Question(
        "labeling-wrong-labels",
        "labeling",
        gettext_lazy("If 30% of the labels are wrong, what happens to accuracy on correct photos?"),
        (
            gettext_lazy("It usually goes down"),
            gettext_lazy("Nothing: the network ignores wrong labels"),
        ),
        right=1,
        explanation=gettext_lazy("Yes: the network learns from what it is told, including the mistakes."),
        hint=gettext_lazy("Run the experiment above and look at the curve."),
    ),
    Question(
        "compression-int8-size",
        "compression",
        gettext_lazy("Why is an int8 model about four times smaller than fp32?"),
        (
            gettext_lazy("Each weight uses 8 bits instead of 32"),
            gettext_lazy("It has four times fewer layers"),
        ),
        right=1,
        explanation=gettext_lazy("Right: same network, smaller numbers."),
        hint=gettext_lazy("Quantization keeps every layer; it changes how each weight is stored."),
    ),
    Question(
        "compression-pruned-gzip",
        "compression",
        gettext_lazy("A pruned model has the same file size but a much smaller gzip size. Why?"),
        (
            gettext_lazy("Zeros are still stored, but long runs of zeros compress very well"),
            gettext_lazy("The file size is measured wrongly"),
        ),
        right=1,
        explanation=gettext_lazy("Yes: pruning helps after compression or with sparse formats."),
        hint=gettext_lazy("Look at the histogram: where did the pruned weights go?"),
    ),
    Question(
        "compression-same-heatmaps",
        "compression",
        gettext_lazy("If the heatmaps of fp32 and int8 look the same, what does it tell you?"),
        (
            gettext_lazy("Quantization kept what the network looks at"),
            gettext_lazy("The int8 model is broken"),
        ),
        right=1,
        explanation=gettext_lazy("Correct: the compressed model still decides for the same reasons."),
        hint=gettext_lazy("Similar heatmaps are good news."),
    ),
    Question(
        "unsupervised-kmeans-labels",
        "unsupervised",
        gettext_lazy("Did k-means use your labels to make the clusters?"),
        (
            gettext_lazy("Yes"),
            gettext_lazy("No, only the embeddings"),
        ),
        right=2,
        explanation=gettext_lazy("Right: labels are used only afterwards, to measure agreement."),
        hint=gettext_lazy("k-means never sees the labels: that is what makes it unsupervised."),
    ),
    Question(
        "unsupervised-low-agreement",
        "unsupervised",
        gettext_lazy("The agreement is low. What could it mean?"),
        (
            gettext_lazy("The photos differ in something else more than in class (background, light)"),
            gettext_lazy("k-means is always wrong"),
        ),
        right=1,
        explanation=gettext_lazy("Yes: clusters follow the strongest differences, which may not be your classes."),
        hint=gettext_lazy("Look at the thumbnails of one cluster: what do they share?"),
    ),
    Question(
        "reinforcement-rewards",
        "reinforcement",
        gettext_lazy("Who tells the agent which policy is best?"),
        (
            gettext_lazy("Nobody: it finds out from the rewards"),
            gettext_lazy("The teacher labels the policies"),
        ),
        right=1,
        explanation=gettext_lazy("Correct: learning from rewards is what makes it reinforcement learning."),
        hint=gettext_lazy("No policy has a label; the agent only sees rewards."),
    ),
    Question(
        "reinforcement-explore",
        "reinforcement",
        gettext_lazy("Why does the agent sometimes pick a policy that is not the best so far?"),
        (
            gettext_lazy("To explore: its estimates may be wrong"),
            gettext_lazy("Because it is broken"),
        ),
        right=1,
        explanation=gettext_lazy("Yes: without exploring it could get stuck on an unlucky first estimate."),
        hint=gettext_lazy("Think of exploration versus exploitation."),
    ),
    Question(
        "backprop-gradient-sign",
        "backprop",
        gettext_lazy("A weight's gradient is positive. To lower the loss, the weight should…"),
        (
            gettext_lazy("go down"),
            gettext_lazy("go up"),
        ),
        right=1,
        explanation=gettext_lazy("Right: gradient descent moves each weight against its gradient."),
        hint=gettext_lazy("A positive gradient means the loss grows when the weight grows."),
    ),
    Question(
        "backprop-finite-differences",
        "backprop",
        gettext_lazy("Why check gradients with finite differences?"),
        (
            gettext_lazy("To make sure backpropagation was written correctly"),
            gettext_lazy("Because it is faster"),
        ),
        right=1,
        explanation=gettext_lazy("Yes: it is slow, but it catches mistakes in the chain rule."),
        hint=gettext_lazy("Finite differences need two extra losses per weight: very slow for big networks."),
    ),
    Question(
        "backprop-loss",
        "backprop",
        gettext_lazy("What does the loss measure?"),
        (
            gettext_lazy("How wrong the network's answer is"),
            gettext_lazy("How many weights the network has"),
        ),
        right=1,
        explanation=gettext_lazy("Correct: here, minus the logarithm of the probability given to the right class."),
        hint=gettext_lazy("Watch it fall step by step above."),
    ),
    Question(
        "generative-autoencoder-target",
        "generative",
        gettext_lazy("What does the autoencoder learn from?"),
        (
            gettext_lazy("Photos without labels: it tries to copy them"),
            gettext_lazy("The labels of the photos"),
        ),
        right=1,
        explanation=gettext_lazy("Right: its target is the photo itself."),
        hint=gettext_lazy("The autoencoder never sees a label."),
    ),
    Question(
        "generative-video",
        "generative",
        gettext_lazy("Which model fits a video of a moving cat best?"),
        (
            gettext_lazy("An LSTM (or another sequence model)"),
            gettext_lazy("A single-photo autoencoder"),
        ),
        right=1,
        explanation=gettext_lazy("Yes: a sequence needs memory of the previous frames."),
        hint=gettext_lazy("Think about what changes from frame to frame."),
    ),
)
BY_ID = {question.id: question for question in QUESTIONS}
