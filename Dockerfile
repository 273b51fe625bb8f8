# The list server (`newsletter lists serve`) in a container. Build from the repository's root:
#   docker build -t newsletter-lists .
# and run it with the newsletter folder (newsletter.toml, templates/) mounted at /newsletter, which
# is also where the database lives; the secrets come in as environment variables (see the README):
#   docker run -d --name lists -p 127.0.0.1:8025:8025 -v "$PWD:/newsletter" \
#     -e NEWSLETTER_LISTS_SECRET -e NEWSLETTER_LISTS_API_TOKEN -e NEWSLETTER_SMTP_PASSWORD newsletter-lists
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml README.md /src/
COPY src /src/src
COPY templates /src/templates
RUN pip install /src && rm -rf /src \
    && useradd --uid 10001 --home-dir /newsletter --no-create-home newsletter

USER newsletter
WORKDIR /newsletter
VOLUME /newsletter
EXPOSE 8025
HEALTHCHECK --interval=30s --timeout=5s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8025/health', timeout=4)"
# Inside the container it listens on every interface, so that the published port reaches it; publish
# that port on 127.0.0.1 only, for the TLS proxy on the host. The proxy reaches the container from
# Docker's bridge, so the forwarded client address is believed from any peer: nothing else can connect.
CMD ["newsletter", "-C", "/newsletter", "lists", "serve", "--host", "0.0.0.0", "--port", "8025", "--trusted-proxies", "*"]
