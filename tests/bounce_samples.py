"""Bounce reports as mail servers send them, written for these tests from RFC 3464 (delivery status
notifications), RFC 5965 (feedback reports) and the shapes each server is known to use.

Each sample is a function of the recipient that bounced, the header block of the message we sent
(``original``, with its Message-ID) and the report's own Message-ID; it returns the report's bytes.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable

Sample = Callable[[str, str, str], bytes]
DATE = "Tue, 01 Apr 2025 10:15:00 +0000"


def original_headers(recipient: str, message_id: str, subject: str = "Day Two") -> str:
    """The header block of a newsletter message as send/message.py writes it."""
    return (f"From: Tess Tester <news@example.com>\nTo: Reader <{recipient}>\nSubject: {subject}\n"
            f"Date: {DATE}\nMessage-ID: {message_id}\nMIME-Version: 1.0\n"
            "List-Unsubscribe: <mailto:unsubscribe@example.com>\n"
            'Content-Type: multipart/alternative; boundary="===============1234=="\n')


def _report(text: str, **values: str) -> bytes:
    return textwrap.dedent(text).lstrip("\n").format(**values).encode("utf-8")


def postfix(recipient: str, original: str, report_id: str) -> bytes:
    """Postfix: text, delivery-status, and the returned headers as text/rfc822-headers."""
    return _report("""
        Return-Path: <>
        Date: {date}
        From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
        Subject: Undelivered Mail Returned to Sender
        To: news@example.com
        Auto-Submitted: auto-replied
        MIME-Version: 1.0
        Content-Type: multipart/report; report-type=delivery-status;
        \tboundary="7A2B41C0E3.1743502500/mx.example.net"
        Message-Id: {id}

        This is a MIME-encapsulated message.

        --7A2B41C0E3.1743502500/mx.example.net
        Content-Description: Notification
        Content-Type: text/plain; charset=us-ascii

        This is the mail system at host mx.example.net.

        Your message could not be delivered to one or more recipients.

        <{rcpt}>: host mx.example.org[192.0.2.10] said: 550 5.1.1 <{rcpt}>:
            Recipient address rejected: User unknown in virtual mailbox table (in
            reply to RCPT TO command)

        --7A2B41C0E3.1743502500/mx.example.net
        Content-Description: Delivery report
        Content-Type: message/delivery-status

        Reporting-MTA: dns; mx.example.net
        X-Postfix-Queue-ID: 7A2B41C0E3
        X-Postfix-Sender: rfc822; news@example.com
        Arrival-Date: {date}

        Final-Recipient: rfc822; {rcpt}
        Original-Recipient: rfc822;{rcpt}
        Action: failed
        Status: 5.1.1
        Remote-MTA: dns; mx.example.org
        Diagnostic-Code: smtp; 550 5.1.1 <{rcpt}>: Recipient address rejected: User
            unknown in virtual mailbox table

        --7A2B41C0E3.1743502500/mx.example.net
        Content-Description: Undelivered Message Headers
        Content-Type: text/rfc822-headers

        {original}
        --7A2B41C0E3.1743502500/mx.example.net--
        """, rcpt=recipient, original=original, id=report_id, date=DATE)


def postfix_delayed(recipient: str, original: str, report_id: str) -> bytes:
    """Postfix's warning that a message is still being retried: a soft bounce."""
    return _report("""
        Date: {date}
        From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
        Subject: Delayed Mail (still being retried)
        To: news@example.com
        Auto-Submitted: auto-replied
        MIME-Version: 1.0
        Content-Type: multipart/report; report-type=delivery-status; boundary="D41.1743502500/mx.example.net"
        Message-Id: {id}

        --D41.1743502500/mx.example.net
        Content-Description: Notification
        Content-Type: text/plain; charset=us-ascii

        This is the mail system at host mx.example.net.

        ####################################################################
        # THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
        ####################################################################

        <{rcpt}>: host mx.example.org[192.0.2.10] said: 452 4.2.2 Mailbox full

        --D41.1743502500/mx.example.net
        Content-Description: Delivery report
        Content-Type: message/delivery-status

        Reporting-MTA: dns; mx.example.net
        Arrival-Date: {date}

        Final-Recipient: rfc822; {rcpt}
        Action: delayed
        Status: 4.2.2
        Diagnostic-Code: smtp; 452 4.2.2 Mailbox full
        Will-Retry-Until: Tue, 6 Apr 2025 10:15:00 +0000

        --D41.1743502500/mx.example.net
        Content-Description: Undelivered Message Headers
        Content-Type: text/rfc822-headers

        {original}
        --D41.1743502500/mx.example.net--
        """, rcpt=recipient, original=original, id=report_id, date=DATE)


def exim(recipient: str, original: str, report_id: str) -> bytes:
    """Exim's classic plain-text report: X-Failed-Recipients, then a copy of the message."""
    return _report("""
        Return-path: <>
        From: Mail Delivery System <Mailer-Daemon@mx.example.org>
        To: news@example.com
        Subject: Mail delivery failed: returning message to sender
        Message-Id: {id}
        X-Failed-Recipients: {rcpt}
        Auto-Submitted: auto-replied
        Date: {date}

        This message was created automatically by mail delivery software.

        A message that you sent could not be delivered to one or more of its
        recipients. This is a permanent error. The following address(es) failed:

          {rcpt}
            host mx.example.org [192.0.2.7]
            SMTP error from remote mail server after RCPT TO:<{rcpt}>:
            550 5.1.1 User unknown

        ------ This is a copy of the message, including all the headers. ------

        Return-path: <news@example.com>
        {original}
        The text of the issue.
        """, rcpt=recipient, original=original, id=report_id, date=DATE)


def gmail(recipient: str, original: str, report_id: str, status: str = "5.1.1",
          diagnostic: str = "550-5.1.1 The email account that you tried to reach does not exist.") -> bytes:
    """Gmail: a related/alternative notice, delivery-status, and the message as text/rfc822-headers."""
    return _report("""
        From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
        To: news@example.com
        Auto-Submitted: auto-replied
        Subject: Delivery Status Notification (Failure)
        Message-ID: {id}
        Date: {date}
        MIME-Version: 1.0
        Content-Type: multipart/report; boundary="000000000000a1b2c3"; report-type=delivery-status

        --000000000000a1b2c3
        Content-Type: multipart/related; boundary="000000000000a1b2c4"

        --000000000000a1b2c4
        Content-Type: multipart/alternative; boundary="000000000000a1b2c5"

        --000000000000a1b2c5
        Content-Type: text/plain; charset="UTF-8"


        ** Address not found **

        Your message wasn't delivered to {rcpt} because the address couldn't be found.

        --000000000000a1b2c5
        Content-Type: text/html; charset="UTF-8"

        <html><body><p><b>Address not found</b></p><p>Your message wasn't delivered.</p></body></html>

        --000000000000a1b2c5--

        --000000000000a1b2c4--

        --000000000000a1b2c3
        Content-Type: message/delivery-status

        Reporting-MTA: dns; googlemail.com
        Received-From-MTA: dns; news@example.com
        Arrival-Date: {date}
        X-Original-Message-ID: {original_id}

        Final-Recipient: rfc822; {rcpt}
        Action: failed
        Status: {status}
        Remote-MTA: dns; gmail-smtp-in.l.google.com. (2001:db8::1b, the server for the domain example.org.)
        Diagnostic-Code: smtp; {diagnostic}
        Last-Attempt-Date: {date}

        --000000000000a1b2c3
        Content-Type: text/rfc822-headers

        {original}
        --000000000000a1b2c3--
        """, rcpt=recipient, original=original, id=report_id, date=DATE, status=status,
        diagnostic=diagnostic, original_id=_message_id(original))


def gmail_mailbox_full(recipient: str, original: str, report_id: str) -> bytes:
    """Gmail giving up on a full mailbox: 'failed', but a soft bounce (status x.2.2)."""
    return gmail(recipient, original, report_id, status="5.2.2",
                 diagnostic="552-5.2.2 The recipient's inbox is out of storage space.")


def microsoft(recipient: str, original: str, report_id: str) -> bytes:
    """Microsoft 365 / Outlook.com: an alternative notice, delivery-status, the whole message as message/rfc822."""
    return _report("""
        From: postmaster@outlook.com
        To: news@example.com
        Date: {date}
        Content-Type: multipart/report; report-type=delivery-status;
        \tboundary="b8ad1a8c-aa3f-4f0e-9d55-7c9a1f0e2d11"
        MIME-Version: 1.0
        Message-ID: {id}
        Subject: Undeliverable: Day Two
        Auto-Submitted: auto-replied

        --b8ad1a8c-aa3f-4f0e-9d55-7c9a1f0e2d11
        Content-Type: multipart/alternative; differences=Content-Type;
        \tboundary="1f0e4c7d-2b4a-4d2e-8f0c-5b7e9a3d6c22"

        --1f0e4c7d-2b4a-4d2e-8f0c-5b7e9a3d6c22
        Content-Type: text/plain; charset="us-ascii"

        Delivery has failed to these recipients or groups:

        {rcpt}
        The email address you entered couldn't be found.

        Diagnostic information for administrators:

        Generating server: DM6PR11MB0001.namprd11.prod.outlook.com

        {rcpt}
        Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup'

        --1f0e4c7d-2b4a-4d2e-8f0c-5b7e9a3d6c22
        Content-Type: text/html; charset="us-ascii"

        <html><body><p>Your message to {rcpt} couldn't be delivered.</p></body></html>

        --1f0e4c7d-2b4a-4d2e-8f0c-5b7e9a3d6c22--

        --b8ad1a8c-aa3f-4f0e-9d55-7c9a1f0e2d11
        Content-Type: message/delivery-status

        Reporting-MTA: dns;DM6PR11MB0001.namprd11.prod.outlook.com
        Received-From-MTA: dns;mail.example.com
        Arrival-Date: {date}

        Original-Recipient: rfc822;{rcpt}
        Final-Recipient: rfc822;{rcpt}
        Action: failed
        Status: 5.1.10
        Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup

        --b8ad1a8c-aa3f-4f0e-9d55-7c9a1f0e2d11
        Content-Type: message/rfc822

        {original}
        The text of the issue.

        --b8ad1a8c-aa3f-4f0e-9d55-7c9a1f0e2d11--
        """, rcpt=recipient, original=original, id=report_id, date=DATE)


def amazon_ses(recipient: str, original: str, report_id: str) -> bytes:
    """Amazon SES forwarding a bounce to the sender: text, delivery-status, the message as message/rfc822."""
    return _report("""
        From: MAILER-DAEMON@amazonses.com
        To: news@example.com
        Subject: Delivery Status Notification (Failure)
        Message-ID: {id}
        Date: {date}
        MIME-Version: 1.0
        Content-Type: multipart/report; boundary="----=_Part_61_1243912309.1743502500"; report-type=delivery-status

        ------=_Part_61_1243912309.1743502500
        Content-Type: text/plain; charset=UTF-8
        Content-Transfer-Encoding: 7bit

        An error occurred while trying to deliver the mail to the following recipients:
        {rcpt}
        ------=_Part_61_1243912309.1743502500
        Content-Type: message/delivery-status

        Reporting-MTA: dns; a8-30.smtp-out.amazonses.com

        Action: failed
        Final-Recipient: rfc822; {rcpt}
        Diagnostic-Code: smtp; 550 5.1.1 user unknown
        Status: 5.1.1


        ------=_Part_61_1243912309.1743502500
        Content-Type: message/rfc822

        {original}
        The text of the issue.

        ------=_Part_61_1243912309.1743502500--
        """, rcpt=recipient, original=original, id=report_id, date=DATE)


def arf_complaint(recipient: str, original: str, report_id: str) -> bytes:
    """A feedback-loop complaint (RFC 5965): a reader pressed "this is spam"."""
    return _report("""
        From: Feedback Loop <fbl@isp.example>
        To: abuse@example.com
        Subject: complaint about a message from 192.0.2.1
        Date: {date}
        Message-ID: {id}
        MIME-Version: 1.0
        Content-Type: multipart/report; report-type=feedback-report; boundary="part1_13d.2e68ed54_boundary"

        --part1_13d.2e68ed54_boundary
        Content-Type: text/plain; charset="US-ASCII"
        Content-Transfer-Encoding: 7bit

        This is an email abuse report for a message received from IP 192.0.2.1 on {date}.

        --part1_13d.2e68ed54_boundary
        Content-Type: message/feedback-report

        Feedback-Type: abuse
        User-Agent: ExampleFBL/2.1
        Version: 1
        Original-Mail-From: <news@example.com>
        Original-Rcpt-To: <{rcpt}>
        Arrival-Date: {date}
        Source-IP: 192.0.2.1

        --part1_13d.2e68ed54_boundary
        Content-Type: message/rfc822
        Content-Disposition: inline

        {original}
        The text of the issue.

        --part1_13d.2e68ed54_boundary--
        """, rcpt=recipient, original=original, id=report_id, date=DATE)


def hidden_complaint(recipient: str, original: str, report_id: str) -> bytes:
    """A complaint from a feedback loop that hides who complained (RFC 6590), as Yahoo's does.

    The report has no Original-Rcpt-To, and the returned copy's To is blanked; what is left of
    it is *recipient* (pass one made up, or '' for none). The Message-ID stays as it was sent.
    """
    if not recipient:
        original = "\n".join(line for line in original.splitlines() if not line.startswith("To:")) + "\n"
    return _report("""
        From: Complaint Feedback Loop <cfl@feedback.mail.example>
        To: fbl@example.com
        Subject: Complaint
        Date: {date}
        Message-ID: {id}
        MIME-Version: 1.0
        Content-Type: multipart/report; report-type=feedback-report; boundary="cfl_boundary_7"

        --cfl_boundary_7
        Content-Type: text/plain; charset="us-ascii"

        This is a complaint about a message a user of ours marked as spam.

        --cfl_boundary_7
        Content-Type: message/feedback-report

        Feedback-Type: abuse
        User-Agent: ExampleCFL/1.0
        Version: 1
        Arrival-Date: {date}

        --cfl_boundary_7
        Content-Type: message/rfc822

        {original}
        [the message text is removed]

        --cfl_boundary_7--
        """, original=original, id=report_id, date=DATE)


def vacation_reply(recipient: str, original: str, report_id: str) -> bytes:
    """An out-of-office reply: not a report, so it must be left where it is."""
    return _report("""
        From: Reader <{rcpt}>
        To: news@example.com
        Subject: Automatic reply: Day Two
        Date: {date}
        Message-ID: {id}
        Auto-Submitted: auto-replied
        In-Reply-To: {original_id}
        Content-Type: text/plain; charset=utf-8

        Thank you for your message. I am away until Monday, 7 April, with no access to mail.
        """, rcpt=recipient, id=report_id, date=DATE, original_id=_message_id(original))


def _message_id(original: str) -> str:
    for line in original.splitlines():
        if line.lower().startswith("message-id:"):
            return line.split(":", 1)[1].strip()
    return ""


HARD: dict[str, Sample] = {"postfix": postfix, "exim": exim, "gmail": gmail, "microsoft": microsoft,
                           "amazon-ses": amazon_ses}
SOFT: dict[str, Sample] = {"postfix-delayed": postfix_delayed, "gmail-mailbox-full": gmail_mailbox_full}
