<?xml version="1.0" encoding="UTF-8"?>
<!--
  Shows the newsletter's Atom and RSS feeds as a page when someone opens one in a browser.
  Feed readers ignore it. Override it by putting your own feed.xsl in the newsletter's templates/.
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:atom="http://www.w3.org/2005/Atom"
    xmlns:fh="http://purl.org/syndication/history/1.0"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    exclude-result-prefixes="atom fh dc">

  <xsl:output method="html" encoding="UTF-8" indent="yes" doctype-system="about:legacy-compat"/>

  <xsl:variable name="atom" select="/atom:feed"/>
  <xsl:variable name="channel" select="/rss/channel"/>
  <xsl:variable name="title" select="$atom/atom:title | $channel/title"/>
  <xsl:variable name="self" select="$atom/atom:link[@rel='self']/@href | $channel/atom:link[@rel='self']/@href"/>
  <xsl:variable name="site" select="$atom/atom:link[@rel='alternate']/@href | $channel/link"/>
  <xsl:variable name="is-archive" select="boolean($atom/fh:archive)"/>

  <xsl:template match="/">
    <html dir="ltr">
      <xsl:attribute name="lang">
        <xsl:value-of select="$atom/@xml:lang | $channel/language"/>
      </xsl:attribute>
      <head>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <meta name="color-scheme" content="light dark"/>
        <title><xsl:value-of select="$title"/> · web feed</title>
        <style>
          :root { color-scheme: light dark; --accent: #0b63c5; --muted: #666; --box: #eef4fb; }
          @media (prefers-color-scheme: dark) { :root { --accent: #7ab7ff; --muted: #aaa; --box: #1d2733; } }
          body { font: 17px/1.55 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; }
          main { max-width: 42rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
          a { color: var(--accent); }
          .kind { text-transform: uppercase; letter-spacing: .08em; font-size: .8rem; color: var(--muted); margin: 0; }
          h1 { margin: .2rem 0 .4rem; line-height: 1.2; }
          .subscribe { background: var(--box); border-radius: .5rem; padding: .8rem 1rem; margin: 1.2rem 0; }
          .subscribe p { margin: .3rem 0; }
          .url { display: block; font: 15px/1.4 ui-monospace, monospace; padding: .4rem .5rem; border: 1px solid var(--muted);
                 border-radius: .3rem; overflow-wrap: anywhere; user-select: all; -webkit-user-select: all; }
          ol { list-style: none; padding: 0; }
          li { margin: 0 0 1.4rem; }
          li h3 { margin: 0; font-size: 1.15rem; }
          .date { color: var(--muted); font-size: .9rem; }
          .summary { margin: .3rem 0 0; }
          nav p { margin: .3rem 0; }
        </style>
      </head>
      <body>
        <main>
          <p class="kind">
            <xsl:choose>
              <xsl:when test="$is-archive">Web feed archive</xsl:when>
              <xsl:otherwise>Web feed</xsl:otherwise>
            </xsl:choose>
          </p>
          <h1><xsl:value-of select="$title"/></h1>
          <p><xsl:value-of select="$atom/atom:subtitle | $channel/description"/></p>
          <section class="subscribe">
            <xsl:choose>
              <xsl:when test="$is-archive">
                <p>This page keeps older issues for feed readers. To subscribe, copy this URL into your feed reader instead:</p>
                <code class="url"><xsl:value-of select="$atom/atom:link[@rel='current']/@href"/></code>
              </xsl:when>
              <xsl:otherwise>
                <p>This is a web feed. To follow it, copy this URL into your feed reader (NetNewsWire, Feedly, Inoreader, Miniflux …):</p>
                <code class="url"><xsl:value-of select="$self"/></code>
              </xsl:otherwise>
            </xsl:choose>
            <p>Or read it on the <a href="{$site}">website</a>.</p>
          </section>
          <nav>
            <xsl:if test="$atom/atom:link[@rel='next-archive']">
              <p><a href="{$atom/atom:link[@rel='next-archive']/@href}">← Newer issues</a></p>
            </xsl:if>
            <xsl:if test="$atom/atom:link[@rel='prev-archive']">
              <p><a href="{$atom/atom:link[@rel='prev-archive']/@href}">Older issues →</a></p>
            </xsl:if>
          </nav>
          <h2>Issues</h2>
          <xsl:choose>
            <xsl:when test="$atom/atom:entry | $channel/item">
              <ol>
                <xsl:apply-templates select="$atom/atom:entry | $channel/item"/>
              </ol>
            </xsl:when>
            <xsl:otherwise><p>No issues here yet.</p></xsl:otherwise>
          </xsl:choose>
        </main>
      </body>
    </html>
  </xsl:template>

  <xsl:template match="atom:entry">
    <li>
      <h3><a href="{atom:link[not(@rel) or @rel='alternate'][1]/@href}"><xsl:value-of select="atom:title"/></a></h3>
      <time class="date" datetime="{atom:published}"><xsl:value-of select="substring(atom:published, 1, 10)"/></time>
      <p class="summary"><xsl:value-of select="atom:summary"/></p>
    </li>
  </xsl:template>

  <xsl:template match="item">
    <li>
      <h3><a href="{link}"><xsl:value-of select="title"/></a></h3>
      <span class="date"><xsl:value-of select="pubDate"/></span>
      <!-- RSS descriptions hold entity-encoded text. It is decoded here rather than by switching
           output escaping off, which Firefox ignores (it would show "AT&amp;T"); what comes out
           is text, escaped again on output, never markup. -->
      <p class="summary">
        <xsl:call-template name="decode">
          <xsl:with-param name="text" select="description"/>
        </xsl:call-template>
      </p>
    </li>
  </xsl:template>

  <!-- Undo the escaping of a plain text: &lt; and &gt; first, &amp; last, so "&amp;lt;" stays "&lt;". -->
  <xsl:template name="decode">
    <xsl:param name="text"/>
    <xsl:call-template name="replace">
      <xsl:with-param name="text">
        <xsl:call-template name="replace">
          <xsl:with-param name="text">
            <xsl:call-template name="replace">
              <xsl:with-param name="text" select="$text"/>
              <xsl:with-param name="from" select="'&amp;lt;'"/>
              <xsl:with-param name="to" select="'&lt;'"/>
            </xsl:call-template>
          </xsl:with-param>
          <xsl:with-param name="from" select="'&amp;gt;'"/>
          <xsl:with-param name="to" select="'&gt;'"/>
        </xsl:call-template>
      </xsl:with-param>
      <xsl:with-param name="from" select="'&amp;amp;'"/>
      <xsl:with-param name="to" select="'&amp;'"/>
    </xsl:call-template>
  </xsl:template>

  <xsl:template name="replace">
    <xsl:param name="text"/>
    <xsl:param name="from"/>
    <xsl:param name="to"/>
    <xsl:choose>
      <xsl:when test="contains($text, $from)">
        <xsl:value-of select="concat(substring-before($text, $from), $to)"/>
        <xsl:call-template name="replace">
          <xsl:with-param name="text" select="substring-after($text, $from)"/>
          <xsl:with-param name="from" select="$from"/>
          <xsl:with-param name="to" select="$to"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$text"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>
</xsl:stylesheet>
