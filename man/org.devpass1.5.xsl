<?xml version="1.0"?>
<!--
  org.devpass1(5) from the D-Bus contract: reads dbus/org.devpass1.xml,
  whose top comment becomes the DESCRIPTION, and for each of its
  interfaces the DocBook that gdbus-codegen generate-docbook made of its
  doc comments (in the directory "dir", files "<prefix>-<interface>.xml"),
  and writes one DocBook refentry, which docbook-xsl's manpages
  stylesheet turns into the page.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml" encoding="UTF-8" indent="no"/>
  <xsl:param name="dir"/>
  <xsl:param name="prefix"/>
  <xsl:param name="version"/>

  <xsl:template match="/">
    <refentry id="org.devpass1">
      <refentryinfo>
        <title>org.devpass1</title>
        <productname>devpass</productname>
        <author><orgname>The devpass developers</orgname></author>
      </refentryinfo>
      <refmeta>
        <refentrytitle>org.devpass1</refentrytitle>
        <manvolnum>5</manvolnum>
        <refmiscinfo class="source">devpass <xsl:value-of select="$version"/></refmiscinfo>
        <refmiscinfo class="manual">devpass</refmiscinfo>
      </refmeta>
      <refnamediv>
        <refname>org.devpass1</refname>
        <refpurpose>the D-Bus API of devpassd, the devpass PCI passthrough service</refpurpose>
      </refnamediv>
      <refsect1>
        <title>Description</title>
        <xsl:call-template name="paragraphs">
          <xsl:with-param name="text" select="string(comment()[1])"/>
        </xsl:call-template>
      </refsect1>
      <xsl:for-each select="node/interface">
        <xsl:variable name="file" select="concat($dir, '/', $prefix, '-', @name, '.xml')"/>
        <xsl:variable name="doc" select="document($file)/refentry"/>
        <xsl:if test="not($doc)">
          <xsl:message terminate="yes">no generated DocBook for <xsl:value-of select="@name"/> at <xsl:value-of select="$file"/></xsl:message>
        </xsl:if>
        <refsect1>
          <title><xsl:value-of select="@name"/></title>
          <xsl:apply-templates select="$doc/refsect1[@role='desc']/para" mode="copy"/>
          <xsl:apply-templates select="$doc/refsect1[@role='details']" mode="details"/>
        </refsect1>
      </xsl:for-each>
      <refsect1>
        <title>See also</title>
        <para>devpassd(8), devpassd.conf(5), busctl(1), gdbus(1); the XML itself,
        installed in /usr/share/dbus-1/interfaces/org.devpass1.xml.</para>
      </refsect1>
    </refentry>
  </xsl:template>

  <!-- The top comment: paragraphs are separated by a blank line. -->
  <xsl:template name="paragraphs">
    <xsl:param name="text"/>
    <xsl:variable name="sep" select="'&#10;&#10;'"/>
    <xsl:variable name="head" select="substring-before(concat($text, $sep), $sep)"/>
    <xsl:if test="normalize-space($head) != ''">
      <para><xsl:value-of select="normalize-space($head)"/></para>
    </xsl:if>
    <xsl:if test="contains($text, $sep)">
      <xsl:call-template name="paragraphs">
        <xsl:with-param name="text" select="substring-after($text, $sep)"/>
      </xsl:call-template>
    </xsl:if>
  </xsl:template>

  <!-- "Method Details" and "Property Details" as refsect2, one refsect3 each. -->
  <xsl:template match="refsect1" mode="details">
    <refsect2>
      <title>
        <xsl:choose>
          <xsl:when test="starts-with(@id, 'gdbus-methods-')">Methods</xsl:when>
          <xsl:when test="starts-with(@id, 'gdbus-properties-')">Properties</xsl:when>
          <xsl:otherwise>Signals</xsl:otherwise>
        </xsl:choose>
      </title>
      <xsl:for-each select="refsect2">
        <refsect3>
          <xsl:apply-templates select="node()[not(self::indexterm)]" mode="copy"/>
        </refsect3>
      </xsl:for-each>
    </refsect2>
  </xsl:template>

  <xsl:template match="link" mode="copy">
    <xsl:apply-templates mode="copy"/>
  </xsl:template>
  <xsl:template match="@*|node()" mode="copy">
    <xsl:copy><xsl:apply-templates select="@*[name() != 'id']|node()" mode="copy"/></xsl:copy>
  </xsl:template>
</xsl:stylesheet>
