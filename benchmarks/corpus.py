"""Generate a deterministic corpus of DevOps posts for benchmarks, for newsletter, Hugo and Pelican.

    python benchmarks/corpus.py OUT --posts 1000 [--seed 7] [--words 1600]

writes OUT/newsletter (newsletter.toml, posts/, static/), OUT/hugo (hugo.toml, content/posts/)
and OUT/pelican (pelicanconf.py, content/) holding the same posts.
"""

from __future__ import annotations

import argparse
import random
import shutil
import struct
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

TOPICS = ["kubernetes", "gitops", "observability", "ci", "terraform", "ebpf", "sre", "security",
          "platform", "incident-response", "cost", "networking"]
NOUNS = ["cluster", "pipeline", "rollout", "alert", "dashboard", "runbook", "controller", "manifest",
         "budget", "queue", "service mesh", "sidecar", "node pool", "release", "canary", "retry",
         "deployment", "namespace", "operator", "probe", "trace", "span", "histogram", "quota"]
VERBS = ["scales", "drifts", "breaks", "recovers", "reconciles", "pages", "throttles", "retries",
         "ships", "rolls back", "leaks", "stabilises", "degrades", "warms up", "fails over"]
ADJECTIVES = ["noisy", "flaky", "immutable", "idempotent", "stale", "healthy", "brittle", "boring",
              "observable", "expensive", "slow", "redundant", "ephemeral", "declarative"]
CONNECTIVES = ["because", "although", "so", "until", "while", "unless", "and then", "which means"]


@dataclass(frozen=True)
class GeneratedPost:
    slug: str
    title: str
    date: datetime
    tags: tuple[str, ...]
    summary: str
    body: str


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(["The", "Every", "One", "Our", "That"]), rng.choice(ADJECTIVES), rng.choice(NOUNS),
             rng.choice(VERBS), rng.choice(CONNECTIVES), "the", rng.choice(ADJECTIVES), rng.choice(NOUNS),
             rng.choice(VERBS)]
    if rng.random() < 0.3:
        words += ["during", "the", rng.choice(["night", "freeze", "migration", "keynote", "on-call week"])]
    return " ".join(words) + rng.choice([".", ".", ".", "!", "?"])


def _paragraph(rng: random.Random, sentences: int) -> str:
    text = " ".join(_sentence(rng) for _ in range(sentences))
    if rng.random() < 0.5:
        noun = rng.choice(NOUNS)
        text += f" Read more about the **{noun}** in [the docs](https://docs.example.org/{noun.replace(' ', '-')}/)."
    return text


def _body(rng: random.Random, words: int) -> tuple[str, str]:
    blocks: list[str] = []
    first = _paragraph(rng, 4)
    blocks.append(first)
    count = len(first.split())
    section = 0
    while count < words:
        section += 1
        blocks.append(f"## Talk {section}: the {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}")
        items = [f"- **{rng.choice(NOUNS).capitalize()}** {_sentence(rng).lower()}" for _ in range(rng.randint(3, 5))]
        blocks.append("\n".join(items))
        paragraph = _paragraph(rng, rng.randint(4, 7))
        blocks.append(paragraph)
        blocks.append(f"**My takeaway:** {_sentence(rng)}")
        if section % 3 == 1:
            blocks.append("```yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
                          f"  name: {rng.choice(NOUNS).replace(' ', '-')}\nspec:\n  replicas: {rng.randint(1, 9)}\n```")
        if section % 4 == 2:
            blocks.append("| tool | verdict |\n|---|---|\n" + "\n".join(
                f"| {rng.choice(NOUNS)} | {rng.choice(ADJECTIVES)} |" for _ in range(3)))
        if section == 2:
            blocks.append('![The hall before the talk](static/hall.png "The hall before the talk")')
        count += len(" ".join(items + [paragraph]).split()) + 20
    return "\n\n".join(blocks) + "\n", first.split(".")[0] + "."


def generate(count: int, seed: int = 7, words: int = 1600) -> list[GeneratedPost]:
    """The same *count* posts for the same seed, one a day from 1990-01-01 09:00.

    Early enough that 10,000 of them (into 2017) are all in the past: none is scheduled.
    """
    rng = random.Random(seed)
    start = datetime(1990, 1, 1, 9, 0)
    posts = []
    for number in range(count):
        body, summary = _body(rng, words)
        title = f"Issue {number + 1}: {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}s and {rng.choice(NOUNS)}s"
        tags = tuple(sorted(rng.sample(TOPICS, 2)))
        posts.append(GeneratedPost(f"issue-{number + 1:05d}", title, start + timedelta(days=number), tags,
                                   summary.replace('"', "'"), body))
    return posts


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes((x * 2 % 256, y * 3 % 256, 160) * 1)[:3] * 1 + b"\x30\x40\x90" * (width - 1)
                    for y in range(height) for x in (y,))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def compile_package() -> None:
    """Compile the newsletter package's modules, as installing it from a wheel does.

    Every command is timed in a fresh process: one that found no compiled modules would spend a
    fifth of a second compiling them (more where PYTHONDONTWRITEBYTECODE stops it keeping them).
    """
    import compileall

    import newsletter

    compileall.compile_dir(str(Path(newsletter.__file__).parent), quiet=1)


def write_newsletter(posts: list[GeneratedPost], folder: Path) -> None:
    (folder / "posts").mkdir(parents=True)
    (folder / "static").mkdir()
    (folder / "static/hall.png").write_bytes(_png(120, 60))
    (folder / "newsletter.toml").write_text(
        '[site]\ntitle = "Bench Weekly"\nurl = "https://bench.example.org/"\n'
        'description = "A generated newsletter"\ntimezone = "UTC"\nauthor = "Bench Author"\n\n'
        '[email]\nfrom = "Bench <bench@example.org>"\nunsubscribe_mailto = "leave@example.org"\n')
    for post in posts:
        front = (f'---\ntitle: "{post.title}"\ndate: {post.date:%Y-%m-%d %H:%M}\n'
                 f'tags: [{", ".join(post.tags)}]\nsummary: "{post.summary}"\n---\n\n')
        (folder / "posts" / f"{post.date:%Y-%m-%d}-{post.slug}.md").write_text(front + post.body)


def write_hugo(posts: list[GeneratedPost], folder: Path) -> None:
    (folder / "content/posts").mkdir(parents=True)
    (folder / "static").mkdir()
    (folder / "static/hall.png").write_bytes(_png(120, 60))
    (folder / "layouts/_default").mkdir(parents=True)
    (folder / "hugo.toml").write_text('baseURL = "https://bench.example.org/"\ntitle = "Bench Weekly"\n'
                                      'languageCode = "en"\n[pagination]\npagerSize = 10\n'
                                      '[markup.highlight]\nnoClasses = false\n')
    layouts = folder / "layouts/_default"
    (layouts / "baseof.html").write_text('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
                                         "<title>{{ .Title }}</title></head><body>{{ block \"main\" . }}{{ end }}"
                                         "</body></html>\n")
    (layouts / "single.html").write_text('{{ define "main" }}<h1>{{ .Title }}</h1>{{ .Content }}{{ end }}\n')
    (layouts / "list.html").write_text('{{ define "main" }}{{ range .Paginator.Pages }}<h2><a href="{{ .RelPermalink }}">'
                                       "{{ .Title }}</a></h2><p>{{ .Summary }}</p>{{ end }}{{ end }}\n")
    for post in posts:
        front = (f'---\ntitle: "{post.title}"\ndate: {post.date:%Y-%m-%dT%H:%M:%S}Z\n'
                 f'tags: [{", ".join(post.tags)}]\nsummary: "{post.summary}"\nslug: {post.slug}\n---\n\n')
        (folder / "content/posts" / f"{post.slug}.md").write_text(front + post.body)


def write_pelican(posts: list[GeneratedPost], folder: Path) -> None:
    (folder / "content/images").mkdir(parents=True)
    (folder / "content/images/hall.png").write_bytes(_png(120, 60))
    (folder / "pelicanconf.py").write_text(
        'AUTHOR = "Bench Author"\nSITENAME = "Bench Weekly"\nSITEURL = ""\nTIMEZONE = "UTC"\n'
        'DEFAULT_LANG = "en"\nDEFAULT_PAGINATION = 10\nSTATIC_PATHS = ["images"]\n'
        "FEED_ALL_ATOM = 'feeds/all.atom.xml'\nRELATIVE_URLS = True\n")
    for post in posts:
        meta = (f"Title: {post.title}\nDate: {post.date:%Y-%m-%d %H:%M}\nTags: {', '.join(post.tags)}\n"
                f"Slug: {post.slug}\nSummary: {post.summary}\n\n")
        (folder / "content" / f"{post.slug}.md").write_text(meta + post.body.replace("static/hall.png", "images/hall.png"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--words", type=int, default=1600)
    args = parser.parse_args()
    posts = generate(args.posts, args.seed, args.words)
    shutil.rmtree(args.out, ignore_errors=True)
    write_newsletter(posts, args.out / "newsletter")
    write_hugo(posts, args.out / "hugo")
    write_pelican(posts, args.out / "pelican")
    print(f"wrote {len(posts)} posts to {args.out}/{{newsletter,hugo,pelican}}")


if __name__ == "__main__":
    main()
