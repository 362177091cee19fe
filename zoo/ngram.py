"""Interpolated Kneser-Ney n-gram models over token sequences: the baseline the sequence models are measured
against (Chen & Goodman, 1998, "An Empirical Study of Smoothing Techniques for Language Modeling").

Tokens are any hashable values (characters, event ids). Every sequence is scored with its end: the model
predicts `end` after the last token, from a context padded on the left with `end`, as the recurrent models
do. A token never seen in training falls to the uniform distribution over the vocabulary plus one
unknown token, so every sequence gets a finite log-probability.
"""

import collections
import math

from zoo import metrics


class KneserNey:
    """Interpolated Kneser-Ney with one absolute discount per order, estimated from counts of counts.

    Args:
        order: the n of the n-grams (2 reads one token of context).
        end: the token that ends every sequence and pads the start of its context.

    The highest order uses raw counts; each lower order uses continuation counts (in how many distinct
    contexts a token follows its shorter context), and the lowest is interpolated with the uniform
    distribution over the training vocabulary, the end token and one unknown token.
    """

    def __init__(self, order, end="\n"):
        if order < 1:
            raise ValueError(f"order must be at least 1, got {order}")
        self.order, self.end = order, end

    def fit(self, sequences):
        """Counts every n-gram of `sequences` (iterables of tokens) up to `order`. Returns self."""
        ngrams = collections.Counter()
        vocabulary = {self.end}
        for sequence in sequences:
            tokens = [self.end] * (self.order - 1) + list(sequence) + [self.end]
            vocabulary.update(sequence)
            for start in range(len(tokens) - self.order + 1):
                ngrams[tuple(tokens[start : start + self.order])] += 1
        self.vocab_size = len(vocabulary) + 1  # and one unknown token
        self.vocabulary = sorted(vocabulary, key=repr)  # a fixed order, for reproducible samples
        # counts[k][(context, token)] for k = 1..order: raw at the top, continuation counts below.
        self.counts = {self.order: ngrams}
        for k in range(self.order - 1, 0, -1):
            self.counts[k] = collections.Counter(ngram[1:] for ngram in self.counts[k + 1])
        self.discounts, self.totals, self.types = {}, {}, {}
        for k, counts in self.counts.items():
            count_of_counts = collections.Counter(min(count, 3) for count in counts.values())
            n1, n2 = count_of_counts[1], count_of_counts[2]
            self.discounts[k] = n1 / (n1 + 2 * n2) if n1 else 0.5
            totals, types = collections.Counter(), collections.Counter()
            for ngram, count in counts.items():
                totals[ngram[:-1]] += count
                types[ngram[:-1]] += 1
            self.totals[k], self.types[k] = totals, types
        return self

    def probability(self, token, context):
        """P(token | the last `order - 1` tokens of `context`)."""
        # The interpolation step of `probabilities`, for one token without the lists: `log_prob` calls this for every
        # token it scores, and going through `probabilities([token], ...)` made scoring 1.5 times slower.
        probability = 1.0 / self.vocab_size
        for history, counts, discount, backoff, total in self._orders(context):
            probability = (max(counts.get(history + (token,), 0) - discount, 0) + backoff * probability) / total
        return probability

    def probabilities(self, tokens, context):
        """`[probability(token, context) for token in tokens]`, each order's totals looked up once for all of
        them, which is what makes sampling (every token at every step) fast."""
        probabilities = [1.0 / self.vocab_size] * len(tokens)
        for history, counts, discount, backoff, total in self._orders(context):
            probabilities = [
                (max(counts.get(history + (token,), 0) - discount, 0) + backoff * probability) / total
                for token, probability in zip(tokens, probabilities)
            ]
        return probabilities

    def _orders(self, context):
        """`(history, counts, discount, backoff weight, total)` of each order, lowest first, whose history (the
        last k - 1 tokens of `context`) has counts: each interpolates the order below it."""
        context = tuple(context)[len(context) - self.order + 1 :] if self.order > 1 else ()
        for k in range(1, self.order + 1):
            history = context[len(context) - k + 1 :] if k > 1 else ()
            total = self.totals[k].get(history, 0)
            if total:
                discount = self.discounts[k]
                yield history, self.counts[k], discount, discount * self.types[k][history], total

    def histories(self):
        """Every context with counts (tuples of 0 to `order - 1` tokens, the empty one first). Any other context
        has the distribution of its longest suffix among them: `probability` skips the orders without counts,
        and a context with counts has counts for each of its suffixes."""
        return sorted(
            {history for totals in self.totals.values() for history in totals}, key=lambda h: (len(h), repr(h))
        )

    def history_counts(self):
        """`{history: how often it is a context in the training sequences}` for every history, the positions
        of each sequence's end included. A suffix of a history is counted at least as often as the history."""
        counts = collections.Counter()
        for ngram, count in self.counts[self.order].items():
            for length in range(self.order):
                counts[ngram[self.order - 1 - length : self.order - 1]] += count
        return counts

    def log_prob(self, sequence):
        """Natural log-probability of `sequence` followed by the end token."""
        context = [self.end] * (self.order - 1)
        total = 0.0
        for token in list(sequence) + [self.end]:
            total += math.log(self.probability(token, context))
            context = context[1:] + [token] if self.order > 1 else context
        return total

    def sample(self, max_length, rng, stop_at_end=True):
        """A sequence drawn token by token from the model, never the unknown token.

        Args:
            max_length: the most tokens drawn.
            rng: a `numpy.random.Generator`.
            stop_at_end: end the sequence when the end token is drawn; otherwise the end token is never
                drawn and the sequence has `max_length` tokens.
        """
        tokens = [token for token in self.vocabulary if stop_at_end or token != self.end]
        sequence, context = [], [self.end] * (self.order - 1)
        while len(sequence) < max_length:
            weights = self.probabilities(tokens, context)
            total = sum(weights)
            token = tokens[rng.choice(len(tokens), p=[weight / total for weight in weights])]
            if token == self.end:
                break
            sequence.append(token)
            context = context[1:] + [token] if self.order > 1 else context
        return sequence

    def score_all(self, sequences):
        """`(log_probs, lengths)`: each sequence's `log_prob` and the tokens it predicts (its end included)."""
        return [self.log_prob(sequence) for sequence in sequences], [len(sequence) + 1 for sequence in sequences]


def best_order(train, validation, orders=range(2, 9), end="\n"):
    """The Kneser-Ney model, among `orders`, with the fewest bits per token on `validation`.

    Returns:
        `(model, {order: validation bits per token})`.
    """
    scores, models = {}, {}
    for order in orders:
        models[order] = KneserNey(order, end).fit(train)
        scores[order] = metrics.bits_per_token(*models[order].score_all(validation))
    best = min(scores, key=scores.get)
    return models[best], scores
