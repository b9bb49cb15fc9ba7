"""Every batched scorer against a straightforward one-forward-per-token reference on the same model."""

import json
import math

import numpy as np
import pytest
import torch
from conftest import FIXTURE_DATA
from reference_scorers import (
    bias_bench_crows_reference,
    causal_reference,
    crows_masked_reference,
    crows_reference_order,
    crows_reference_tally,
    lm_eval_crows_reference,
    metric_py_reference,
    sent_bias_weat_reference,
    stereoset_evaluator_reference,
    stereoset_masked_reference,
)

from fairforget.benchmarks.crows_pairs import crows_pairs_scores, read_crows_pairs, split_positions
from fairforget.benchmarks.seat import association, read_seat_test, seat_scores, weat_effect_size, weat_p_value
from fairforget.benchmarks.stereoset import (
    blank_filler,
    filler_tokens,
    read_stereoset,
    stereoset_metrics,
    stereoset_sentence_scores,
)
from fairforget.scoring import causal_sequence, sentence_embeddings

PAIRS = [
    {"sent_more": "he is a nurse .", "sent_less": "she is a nurse .", "stereo_antistereo": "stereo"},
    {
        "sent_more": "the man went to the market .",
        "sent_less": "the woman went to the market .",
        "stereo_antistereo": "antistereo",
    },
    {"sent_more": "his brother saw the dog .", "sent_less": "her brother saw the dog .", "stereo_antistereo": "stereo"},
    {
        "sent_more": "a woman saw her friend at the station .",
        "sent_less": "a man saw his friend at the station .",
        "stereo_antistereo": "stereo",
    },
    {
        "sent_more": "the doctor is a man .",
        "sent_less": "the doctor is a quick brown woman .",
        "stereo_antistereo": "antistereo",
    },
]

ITEMS = [
    {
        "id": "i1",
        "target": "mother",
        "context": "my mother is very BLANK.",
        "sentences": {
            "stereotype": {"id": "a", "sentence": "my mother is very caring."},
            "anti-stereotype": {"id": "b", "sentence": "my mother is very lazy."},
            "unrelated": {"id": "c", "sentence": "my mother is very fox."},
        },
    },
    {
        "id": "i2",
        "target": "mother",
        "context": "the BLANK went to the market.",
        "sentences": {
            "stereotype": {"id": "d", "sentence": "the woman went to the market."},
            "anti-stereotype": {"id": "e", "sentence": "the doctor went to the market."},
            "unrelated": {"id": "f", "sentence": "the dog went to the market."},
        },
    },
    {
        "id": "i3",
        "target": "sister",
        "context": "her sister saw a BLANK yesterday.",
        "sentences": {
            "stereotype": {"id": "g", "sentence": "her sister saw a nurse yesterday."},
            "anti-stereotype": {"id": "h", "sentence": "her sister saw a brownish yesterday."},
            "unrelated": {"id": "k", "sentence": "her sister saw a station yesterday."},
        },
    },
]


def test_crows_masked_variants_equal_reference(tiny_mlm):
    model, tokenizer, _ = tiny_mlm
    result = crows_pairs_scores(model, tokenizer, "masked", PAIRS, batch_size=5)
    reference = crows_masked_reference(model, tokenizer, PAIRS)
    nangia, bias_bench = [r["nangia2020"] for r in reference], [r["bias_bench"] for r in reference]
    whole = [r["whole"] for r in reference]
    for name, ref in (("nangia2020_unrounded", nangia), ("bias_bench", bias_bench), ("whole_sentence", whole)):
        pair_scores = result["pair_scores"][name]
        np.testing.assert_allclose(np.c_[pair_scores["more"], pair_scores["less"]], ref, atol=1e-4)
    for name, ref in (("nangia2020_unrounded", nangia), ("bias_bench", bias_bench)):
        got = result["variants"][name]
        assert got["value"] == pytest.approx(100 * np.mean([m > s for m, s in ref]))
        assert got["n"] == len(PAIRS) and got["neutral"] == sum(m == s for m, s in ref)
        assert got["ci95"][0] <= got["value"] <= got["ci95"][1]
    whole = np.array(whole)
    assert result["likelihood"]["mean_stereo"] == pytest.approx(whole[:, 0].mean(), abs=1e-4)
    assert result["likelihood"]["mean_gap"] == pytest.approx((whole[:, 0] - whole[:, 1]).mean(), abs=1e-4)
    assert result["primary"] == "nangia2020"


# difflib is not symmetric: this pair's shared tokens depend on which sentence comes first, and the
# references read antistereo pairs as (sent_less, sent_more)
ASYMMETRIC = {
    "sent_more": "his brother saw her friend .",
    "sent_less": "her friend saw his brother .",
    "stereo_antistereo": "antistereo",
}
SAME = {"sent_more": "he is a nurse .", "sent_less": "he is a nurse .", "stereo_antistereo": "stereo"}


def assert_tally_equal(got, pair_scores, reference):
    """A variant's summary and pair scores against a reference tally (`reference_scorers.crows_reference_tally`)."""
    kept = [p for p in reference["pairs"] if p is not None]
    more = [m for m in pair_scores["more"] if m is not None]
    less = [s for s in pair_scores["less"] if s is not None]
    assert list(zip(more, less)) == [(m, s) for m, s, _ in kept]  # the references' rounded sentence scores
    assert [int(m > s) for m, s in zip(more, less)] == [p for _, _, p in kept]  # pair by pair
    assert (got["n"], got["neutral"]) == (reference["n"], reference["neutral"])
    assert got["value"] == pytest.approx(reference["metric"])
    assert round(got["value"], 2) == round(reference["metric"], 2)  # what the scripts print
    for direction in ("stereo", "antistereo"):
        assert got["by_direction"].get(direction) == pytest.approx(reference[direction])


def test_crows_nangia2020_decides_as_metric_py(tiny_mlm):
    """metric.py rounds each sentence score to 3 decimals: a rounded tie is neutral, in N but preferring
    neither sentence, and out of the per-direction denominators; difflib runs in the reference's order."""
    model, tokenizer, _ = tiny_mlm
    pairs = PAIRS + [ASYMMETRIC, SAME]
    ids = [tokenizer(ASYMMETRIC[k])["input_ids"] for k in ("sent_more", "sent_less")]
    assert split_positions(*ids)[:2] != split_positions(*ids[::-1])[1::-1]  # the order matters for this pair
    result = crows_pairs_scores(model, tokenizer, "masked", pairs, batch_size=6)
    reference = metric_py_reference(model, tokenizer, pairs)
    assert_tally_equal(result["variants"]["nangia2020"], result["pair_scores"]["nangia2020"], reference)
    # the model ties pairs after rounding that differ before it: the rounding decides them
    unrounded = result["pair_scores"]["nangia2020_unrounded"]
    assert any(p[0] == p[1] and m != s for p, m, s in zip(reference["pairs"], unrounded["more"], unrounded["less"]))
    assert result["variants"]["nangia2020"]["reference"] == "nyu-mll/crows-pairs metric.py"


def test_crows_bias_bench_decides_as_bias_bench(tiny_mlm):
    """bias-bench: mean log p of the differing tokens rounded to 3 decimals, pairs without differing
    tokens skipped (not in N), rounded ties neutral, neutral pairs out of the per-direction scores."""
    model, tokenizer, _ = tiny_mlm
    one_sided = {"sent_more": "he is a nurse .", "sent_less": "he is a nurse nurse .", "stereo_antistereo": "stereo"}
    pairs = PAIRS + [ASYMMETRIC, SAME, one_sided]
    result = crows_pairs_scores(model, tokenizer, "masked", pairs, batch_size=6)
    reference = bias_bench_crows_reference(model, tokenizer, pairs)
    got = result["variants"]["bias_bench"]
    assert_tally_equal(got, result["pair_scores"]["bias_bench"], reference)
    assert got["skipped"] == sum(p is None for p in reference["pairs"]) == 2


def test_crows_masked_variants_decide_as_references_on_real_pairs(tiny_mlm):
    """The first 12 gender pairs of the real CSV (the fixture mirror's excerpt keeps them) that fit the tiny
    model's 32 positions (both directions;
    the tiny vocabulary spells most words out, so difflib often chooses between equal matches): every
    decision as the scripts'."""
    model, tokenizer, _ = tiny_mlm
    fits = lambda row: all(len(tokenizer(row[k])["input_ids"]) <= 32 for k in ("sent_more", "sent_less"))  # noqa: E731
    pairs = [row for row in read_crows_pairs(FIXTURE_DATA / "crows_pairs" / "crows_pairs_anonymized.csv") if fits(row)]
    pairs = pairs[:12]
    assert {row["stereo_antistereo"] for row in pairs} == {"stereo", "antistereo"}
    result = crows_pairs_scores(model, tokenizer, "masked", pairs, batch_size=64)
    for name, reference in (
        ("nangia2020", metric_py_reference(model, tokenizer, pairs)),
        ("bias_bench", bias_bench_crows_reference(model, tokenizer, pairs)),
    ):
        assert_tally_equal(result["variants"][name], result["pair_scores"][name], reference)


def test_crows_rounding_is_each_references_own(tiny_mlm, monkeypatch):
    """metric.py rounds a Python float (round-half-even of the exact binary value); bias-bench rounds
    np.mean's np.float64, i.e. numpy's scaled rounding. They disagree at halfway values such as -29.9975
    (Python: -29.997, numpy: -29.998), and so do the decisions."""
    model, tokenizer, _ = tiny_mlm
    halfway, below = -29.9975, -29.997
    assert round(halfway, 3) == below != round(np.float64(halfway), 3)
    pair = {"sent_more": "he is a nurse .", "sent_less": "she is a nurse .", "stereo_antistereo": "stereo"}
    more_ids = tokenizer(pair["sent_more"])["input_ids"]

    def fake_logprobs(model, tokenizer, sequences, positions, batch_size, desc):
        # the differing token (1) and the first scored shared token (2) carry the score, the rest 0
        value = {True: halfway, False: below}
        return [[value[seq == more_ids] if p in (1, 2) else 0.0 for p in pos] for seq, pos in zip(sequences, positions)]

    monkeypatch.setattr("fairforget.scoring.masked_token_logprobs", fake_logprobs)
    shared_more, _, diff_more, diff_less = split_positions(more_ids, tokenizer(pair["sent_less"])["input_ids"])
    assert diff_more == diff_less == [1] and shared_more[0] == 2
    result = crows_pairs_scores(model, tokenizer, "masked", [pair])
    nangia, bias_bench = result["variants"]["nangia2020"], result["variants"]["bias_bench"]
    assert result["pair_scores"]["nangia2020"]["more"] == [below]  # Python's round
    assert nangia["neutral"] == 1 and nangia["value"] == 0.0
    assert result["pair_scores"]["bias_bench"]["more"] == [float(round(np.float64(halfway), 3))]  # numpy's
    assert bias_bench["neutral"] == 0 and bias_bench["value"] == 0.0  # -29.998 < -29.997: sent_less preferred
    assert result["pair_scores"]["nangia2020_unrounded"]["more"] == [halfway]


@pytest.mark.parametrize("fixture", ["tiny_llama", "tiny_gpt2"])
def test_crows_causal_variants_equal_reference(fixture, request):
    model, tokenizer, _ = request.getfixturevalue(fixture)
    result = crows_pairs_scores(model, tokenizer, "causal", PAIRS, batch_size=3)
    sums, means = [], []
    for row in PAIRS:
        lps = [causal_reference(model, causal_sequence(tokenizer, row[k])) for k in ("sent_more", "sent_less")]
        sums.append([sum(lp) for lp in lps])
        means.append([np.mean(lp) for lp in lps])
    for name, ref in (("causal_sum", sums), ("causal_mean", means)):
        pair_scores = result["pair_scores"][name]
        np.testing.assert_allclose(np.c_[pair_scores["more"], pair_scores["less"]], ref, atol=1e-4)
        assert result["variants"][name]["value"] == pytest.approx(100 * np.mean([m > s for m, s in ref]))
    assert result["likelihood"]["mean_stereo"] == pytest.approx(np.mean([s[0] for s in sums]), abs=1e-4)


@pytest.mark.parametrize("fixture", ["tiny_llama", "tiny_gpt2"])
def test_crows_causal_decides_as_lm_eval_and_bias_bench(fixture, request):
    """causal_sum as lm-evaluation-harness: acc = ll(sent_more) > ll(sent_less), a tie scores 0, no
    direction, plus likelihood_diff; causal_mean as bias-bench's generative scoring: a tie is neutral
    and leaves the per-direction denominators."""
    model, tokenizer, _ = request.getfixturevalue(fixture)
    pairs = PAIRS + [ASYMMETRIC, SAME]
    result = crows_pairs_scores(model, tokenizer, "causal", pairs, batch_size=3)
    logprobs = lambda text: causal_reference(model, causal_sequence(tokenizer, text))  # noqa: E731
    lm_eval = lm_eval_crows_reference(lambda text: sum(logprobs(text)), pairs)
    got = result["variants"]["causal_sum"]
    scores = result["pair_scores"]["causal_sum"]
    assert [float(m > s) for m, s in zip(scores["more"], scores["less"])] == lm_eval["acc"]
    assert got["value"] == pytest.approx(lm_eval["pct_stereotype"])
    assert got["likelihood_diff"] == pytest.approx(lm_eval["likelihood_diff"], abs=1e-4)
    stereo = [a for a, row in zip(lm_eval["acc"], pairs) if row["stereo_antistereo"] == "stereo"]
    assert got["by_direction"]["stereo"] == pytest.approx(100 * np.mean(stereo))  # the tie stays in
    # bias-bench scores a sentence by its geometric-mean token probability: 2 ** mean(log2 p)
    geometric = lambda text: np.power(2, np.sum(np.log2(np.exp(logprobs(text)))) / len(logprobs(text)))  # noqa: E731
    reference = crows_reference_tally(pairs, [tuple(geometric(t) for t in crows_reference_order(row)) for row in pairs])
    got = result["variants"]["causal_mean"]
    scores = result["pair_scores"]["causal_mean"]
    assert [int(m > s) for m, s in zip(scores["more"], scores["less"])] == [p for _, _, p in reference["pairs"]]
    assert (got["n"], got["neutral"]) == (reference["n"], reference["neutral"]) == (len(pairs), 1)
    assert got["value"] == pytest.approx(reference["metric"])
    for direction in ("stereo", "antistereo"):
        assert got["by_direction"][direction] == pytest.approx(reference[direction])


def test_crows_reports_each_bias_type(tiny_mlm):
    model, tokenizer, _ = tiny_mlm
    pairs = [dict(row, bias_type="gender" if k % 2 else "age") for k, row in enumerate(PAIRS)]
    result = crows_pairs_scores(model, tokenizer, "masked", pairs)["variants"]["nangia2020"]
    assert set(result["by_bias_type"]) == {"gender", "age"}
    weighted = (2 * result["by_bias_type"]["gender"] + 3 * result["by_bias_type"]["age"]) / 5
    assert result["value"] == pytest.approx(weighted)


def test_causal_sequence_takes_bos_from_the_tokenizer(tiny_llama, tiny_gpt2):
    llama_tok, gpt2_tok = tiny_llama[1], tiny_gpt2[1]
    seq = causal_sequence(llama_tok, "he is a nurse")
    assert seq[0] == llama_tok.bos_token_id and seq.count(llama_tok.bos_token_id) == 1  # not doubled
    assert causal_sequence(gpt2_tok, "he is a nurse")[0] == gpt2_tok.eos_token_id  # GPT-2: <|endoftext|>


def test_split_positions():
    # [CLS] he is a nurse [SEP] vs [CLS] she is a nurse [SEP]
    assert split_positions([2, 10, 11, 12, 13, 3], [2, 20, 21, 11, 12, 13, 3]) == ([2, 3, 4], [3, 4, 5], [1], [1, 2])


def test_read_crows_pairs_names_bad_line(tmp_path):
    path = tmp_path / "crows.csv"
    path.write_text("sent_more,sent_less,stereo_antistereo,bias_type\na,b,stereo,gender\nc,d,sideways,gender\n")
    with pytest.raises(ValueError, match="line 3: stereo_antistereo"):
        read_crows_pairs(path)


def test_stereoset_masked_equals_reference(tiny_mlm):
    model, tokenizer, _ = tiny_mlm
    assert len(filler_tokens(tokenizer, "brownish")) > 1  # a multi-token filler is exercised
    got = stereoset_sentence_scores(model, tokenizer, "masked", ITEMS, batch_size=4)
    expected = np.array([stereoset_masked_reference(model, tokenizer, item) for item in ITEMS])
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_stereoset_causal_equals_reference(tiny_gpt2):
    model, tokenizer, _ = tiny_gpt2
    got = stereoset_sentence_scores(model, tokenizer, "causal", ITEMS, batch_size=4)
    sentence = lambda item, label: item["sentences"][label]["sentence"]  # noqa: E731
    expected = [
        [
            math.exp(np.mean(causal_reference(model, causal_sequence(tokenizer, sentence(item, label)))))
            for label in ("stereotype", "anti-stereotype", "unrelated")
        ]
        for item in ITEMS
    ]
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_blank_filler_strips_punctuation():
    assert blank_filler("my mother is very BLANK.", "my mother is very caring.") == "caring"
    assert blank_filler("the BLANK went home", "the gentle-man went home") == "gentleman"


def test_stereoset_metrics_average_over_target_terms():
    # term a: items 1-2 (stereo wins once); term b: item 3 (stereo wins). columns: stereo, anti, unrelated
    scores = np.array([[0.5, 0.2, 0.1], [0.1, 0.3, 0.2], [0.6, 0.1, 0.3]])
    m = stereoset_metrics(["a", "a", "b"], scores)
    assert m["ss"] == pytest.approx((50 + 100) / 2)
    # related counts: a: item1 2, item2 1 -> 3/4; b: 1/2 -> LMS (75 + 50) / 2
    assert m["lms"] == pytest.approx(62.5)
    assert m["icat"] == pytest.approx(62.5 * min(75, 25) / 50)


def test_stereoset_metrics_decide_ties_as_bias_bench():
    """bias-bench's ScoreEvaluator: a stereotype == anti-stereotype tie counts as anti (in the SS total),
    a filler tied with the unrelated one is not related; counts per target term, averaged; no rounding."""
    rng = np.random.default_rng(3)
    scores = rng.choice([0.1, 0.2, 0.3], size=(40, 3))  # three values: many ties of every kind
    targets = list(rng.choice(["mother", "sister", "gentlemen"], size=40))
    assert (scores[:, 0] == scores[:, 1]).any() and (scores[:, :2] == scores[:, 2:]).any()
    items = [{"target": t} for t in targets]
    got, reference = stereoset_metrics(targets, scores), stereoset_evaluator_reference(items, scores)
    for key in ("ss", "lms", "icat"):
        assert got[key] == pytest.approx(reference[key], abs=1e-12)
    assert got["n"] == reference["count"] == 40


def test_real_stereoset_splits(data_dir):
    path = data_dir / "stereoset" / "stereoset_gender.json"
    dev, test, everything = (read_stereoset(path, "gender", s) for s in ("dev", "test", "all"))
    assert (len(dev), len(test), len(everything)) == (255, 771, 1026)
    assert len({i["target"] for i in dev}) == 10


def test_read_stereoset_splits_and_errors(tmp_path):
    path = FIXTURE_DATA / "stereoset" / "stereoset_gender.json"  # an excerpt of the real file: 40 dev, 20 test
    dev, test, everything = (read_stereoset(path, "gender", s) for s in ("dev", "test", "all"))
    assert (len(dev), len(test), len(everything)) == (40, 20, 60)
    broken = json.loads(path.read_text())
    broken["data"]["intrasentence"][3]["sentences"][0]["gold_label"] = "unrelated"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(broken))
    with pytest.raises(ValueError, match="intrasentence item 3 .*one sentence per gold_label"):
        read_stereoset(bad, "gender", "all")
    broken = json.loads(path.read_text())
    broken["data"]["intrasentence"][5]["sentences"][1]["sentence"] = None
    bad.write_text(json.dumps(broken))
    with pytest.raises(ValueError, match="intrasentence item 5 .*non-empty 'sentence'"):
        read_stereoset(bad, "gender", "all")
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="bad.json: not valid JSON"):
        read_stereoset(bad)


@pytest.mark.parametrize("pooling", ["mean", "first", "last"])
@pytest.mark.parametrize("fixture", ["tiny_mlm", "tiny_llama", "tiny_gpt2"])
def test_seat_embeddings_batched_equal_one_by_one(fixture, pooling, request):
    model, tokenizer, _ = request.getfixturevalue(fixture)
    kind = "masked" if fixture == "tiny_mlm" else "causal"
    texts = ["he is a nurse .", "the man went to the market with his brother .", "a woman ."]
    got = sentence_embeddings(model, tokenizer, texts, pooling, batch_size=3, kind=kind)
    for row, text in zip(got, texts):
        ids = tokenizer(text)["input_ids"]
        with torch.no_grad():
            hidden = model.base_model(input_ids=torch.tensor([ids])).last_hidden_state[0]
        if pooling == "mean":
            # a causal tokenizer's BOS (Llama) is left out of the mean: its state is the same for every sentence
            skip = 1 if kind == "causal" and ids[0] == tokenizer.bos_token_id else 0
            vector = hidden[skip:].mean(0).numpy()
        else:
            vector = hidden[0 if pooling == "first" else -1].numpy()
        np.testing.assert_allclose(row, vector / np.linalg.norm(vector), atol=1e-5)


def random_sets(seed, sizes, dim=8):
    """Unit-length random vectors for the sets of a WEAT (X, Y, A, B)."""
    rng = np.random.default_rng(seed)
    return [v / np.linalg.norm(v, axis=1, keepdims=True) for v in (rng.normal(size=(n, dim)) for n in sizes)]


def test_weat_p_value_exact_and_sampled_as_sent_bias():
    """Exact test when C(2n, n) <= n_samples, else sent-bias' sampled test: n_samples - 1 successive
    in-place shuffles of one RandomState, seeded once and carried from test to test, plus one
    hallucinated positive. Partition for partition the same decisions, so the same p."""
    exact_sets, sampled_sets = random_sets(1, (6, 6, 5, 5)), random_sets(2, (10, 10, 7, 7))  # C(12, 6) = 924
    rng, reference_rng = np.random.RandomState(0), np.random.RandomState(0)
    for (x, y, a, b), n_samples in ((sampled_sets, 500), (exact_sets, 1000), (sampled_sets, 300), (exact_sets, 900)):
        s_xy = association(np.concatenate([x, y]), a, b)
        p_value, exact = weat_p_value(s_xy, len(x), n_samples, rng)
        effect, reference_p = sent_bias_weat_reference(x, y, a, b, n_samples, reference_rng)
        assert exact == (math.comb(2 * len(x), len(x)) <= n_samples)
        assert p_value == reference_p
        assert weat_effect_size(x, y, a, b) == pytest.approx(effect)


def test_weat_p_value_compares_exactly():
    """sent-bias counts a partition when its X-sum is > or == the observed one, with no tolerance."""
    assert weat_p_value(np.array([1.0, 1.0 - 1e-15]), 1) == (0.5, True)
    assert weat_p_value(np.array([1.0, 1.0]), 1) == (1.0, True)  # an exact tie counts (conservative)
    with pytest.raises(ValueError, match="equally large target sets"):
        weat_p_value(np.array([1.0, 0.5, 0.2]), 1)


def test_weat_effect_size_formula():
    rng = np.random.default_rng(0)
    x, y, a, b = (v / np.linalg.norm(v, axis=1, keepdims=True) for v in rng.normal(size=(4, 5, 8)))
    s = [np.mean([xi @ ai for ai in a]) - np.mean([xi @ bi for bi in b]) for xi in np.concatenate([x, y])]
    expected = (np.mean(s[:5]) - np.mean(s[5:])) / np.std(s, ddof=1)
    assert weat_effect_size(x, y, a, b) == pytest.approx(expected)
    assert weat_effect_size(y, x, a, b) == pytest.approx(-expected)


def test_seat_reads_bias_bench_tests(tiny_mlm, data_dir):
    model, tokenizer, _ = tiny_mlm
    tests = {name: read_seat_test(data_dir / "bias_bench" / "seat" / f"{name}.jsonl") for name in ("weat6", "weat7")}
    result = seat_scores(model, tokenizer, tests, n_samples=20_000)
    assert set(result["tests"]) == {"weat6", "weat7"}
    assert all(r["exact"] for r in result["tests"].values())  # C(16, 8) = 12,870 partitions
    x, y, a, b = (
        sentence_embeddings(model, tokenizer, tests["weat6"][k]["examples"])
        for k in ("targ1", "targ2", "attr1", "attr2")
    )
    effect, p_value = sent_bias_weat_reference(x, y, a, b, 20_000, np.random.RandomState(0))
    assert result["tests"]["weat6"]["effect_size"] == pytest.approx(effect)
    assert result["tests"]["weat6"]["p_value"] == p_value
    effects = [abs(r["effect_size"]) for r in result["tests"].values()]
    assert result["mean_abs_effect_size"] == pytest.approx(np.mean(effects))


def test_seat_counts_a_repeated_example_once(tiny_mlm):
    """sent-bias keys sentence encodings by their text, so a repeated example counts once; unequal
    target sets (after that) are refused, as its permutation test asserts equal sizes."""
    model, tokenizer, _ = tiny_mlm
    sets = {
        "targ1": ["he is a man .", "the brother went home .", "he is a man ."],
        "targ2": ["she is a woman .", "her sister went home ."],
        "attr1": ["a nurse .", "the station ."],
        "attr2": ["a doctor .", "the market ."],
    }
    test = {k: {"category": k, "examples": v} for k, v in sets.items()}
    got = seat_scores(model, tokenizer, {"t": test}, n_samples=1000)["tests"]["t"]
    assert got["sizes"] == {"targ1": 2, "targ2": 2, "attr1": 2, "attr2": 2}
    x, y, a, b = (sentence_embeddings(model, tokenizer, list(dict.fromkeys(v))) for v in sets.values())
    effect, p_value = sent_bias_weat_reference(x, y, a, b, 1000, np.random.RandomState(0))
    assert got["effect_size"] == pytest.approx(effect) and got["p_value"] == p_value
    test["targ2"]["examples"] = test["targ2"]["examples"][:1]
    with pytest.raises(ValueError, match="as many distinct examples"):
        seat_scores(model, tokenizer, {"t": test})


def test_read_seat_test_names_missing_key(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"targ1": {"examples": ["a"]}, "targ2": {"examples": ["b"]}, "attr1": {"examples": []}}))
    with pytest.raises(ValueError, match="'attr1' must be"):
        read_seat_test(path)
