"""Billing routes, /v1/billing/teams/{team_id}/... (xai-api.md section 6), camelCase,
money in cents: billing info, invoices, payment methods, postpaid preview and spending
limits, prepaid balance and top-ups. Usage series are computed by usage.Usage.
"""

import base64
import re
import secrets
import time
import uuid
from datetime import datetime, timezone

from .exchange import Response
from .routing import ApiBase
from .usage import Usage
from .wire import ApiError, as_cent, as_str, cent, i64, msg, prune, ts


class BillingApi(ApiBase):
    """/v1/billing/teams/{team_id}/... (section 6). camelCase, money in cents."""

    TOPUP_PENDING = ("TO_GENERATE_INVOICE", "TO_CHARGE")

    def register(self, r):
        base = "/v1/billing/teams/{team_id}"
        r.add("GET", base + "/billing-info", self.get_info)
        r.add("POST", base + "/billing-info", self.set_info)
        r.add("GET", base + "/invoices", self.invoices)
        r.add("GET", base + "/payment-method", self.payment_methods)
        r.add("POST", base + "/payment-method/default", self.set_default)
        r.add("GET", base + "/postpaid/invoice/preview", self.preview)
        r.add("GET", base + "/postpaid/spending-limits", self.get_limits)
        r.add("POST", base + "/postpaid/spending-limits", self.set_limit)
        r.add("GET", base + "/prepaid/balance", self.balance)
        r.add("POST", base + "/prepaid/top-up", self.top_up)
        r.add("POST", base + "/usage", self.usage)

    @property
    def billing(self):
        return self.state.billing

    def get_info(self, req):
        with self.state.lock:
            return Response.json({"billingInfo": prune(self.billing["info"])})

    INFO_FIELDS = ("name", "email", "taxIdType", "taxNumber")
    ADDRESS_FIELDS = ("line1", "line2", "city", "state", "postalCode", "country")

    def set_info(self, req):
        info = req.json().get("billingInfo")
        if not isinstance(info, dict):
            raise ApiError(400, "billingInfo must be an object")
        clean = {k: as_str(info.get(k), k) for k in self.INFO_FIELDS}
        address = info.get("address") or {}
        if not isinstance(address, dict):
            raise ApiError(400, "billingInfo.address must be an object")
        clean["address"] = {k: as_str(address.get(k), k) for k in self.ADDRESS_FIELDS}
        country = clean["address"]["country"]
        if country and not re.fullmatch(r"[A-Z]{2}", country):
            raise ApiError(400, "address.country must be an ISO 3166-1 alpha-2 code")
        with self.state.lock:
            self.billing["info"] = clean
        return Response.json({})

    def invoices(self, req):
        groups = [g for g in ("billingCycle", "since", "invoiceIds")
                  if any(k.startswith(g + ".") for k in req.query)]
        if len(groups) > 1:
            raise ApiError(400, "at most one of billingCycle, since and invoiceIds may be given")
        with self.state.lock:
            out = [inv for inv in self.billing["invoices"]
                   if self._invoice_wanted(req, inv, groups)]
            return Response.json(msg(invoices=[self._invoice(inv) for inv in out]))

    def _invoice_wanted(self, req, inv, groups):
        if not groups:
            return True
        group = groups[0]
        if group == "invoiceIds":
            return inv["invoiceId"] in req.qlist("invoiceIds.invoiceIds")
        year = req.qint(group + ".year")
        month = req.qint(group + ".month")
        if not year or not 1 <= month <= 12:
            raise ApiError(400, "%s needs year and month (1-12)" % group)
        if group == "billingCycle":
            return inv["cycle"] == (year, month)
        return inv["cycle"] >= (year, month)

    def _invoice(self, inv):
        year, month = inv["cycle"]
        return msg(teamId=inv["teamId"], invoiceId=inv["invoiceId"],
                   invoiceNumber=inv["invoiceNumber"], createTime=ts(inv["createTime"]),
                   invoicePdfAssetKeySuffix=inv["invoicePdfAssetKeySuffix"],
                   invoiceStatus=inv["invoiceStatus"],
                   chargerAttempts=[msg(**a) for a in inv["chargerAttempts"]],
                   lines=[prune(line) for line in inv["lines"]],
                   subtotal=i64(inv["subtotal"]), tax=i64(inv["tax"]), total=i64(inv["total"]),
                   monthly={"billingCycle": {"year": year, "month": month},
                            "defaultCreditsIssued": {}, "autoCreditsIssued": {},
                            "prepaidTokensToSpend": {},
                            "billingItemsCsvAssetKeySuffix": "usage/%04d-%02d.csv" % (year, month)})

    def payment_methods(self, req):
        with self.state.lock:
            methods = []
            for pm in self.billing["payment_methods"]:
                pm = dict(pm, addedTs=ts(pm["addedTs"]))
                methods.append(prune(pm))
            return Response.json(msg(paymentMethods=methods))

    def set_default(self, req):
        pm_id = as_str(req.json().get("paymentMethodId"), "paymentMethodId")
        with self.state.lock:
            if not any(pm["paymentMethodId"] == pm_id for pm in self.billing["payment_methods"]):
                raise ApiError(404, "payment method %r not found" % pm_id)
            self.billing["default_payment_method"] = pm_id
        return Response.json({})

    def _limits(self):
        lim = self.billing["limits"]
        hard = lim["hardSlOverride"] or lim["hardSlAuto"]
        return hard, min(lim["softSl"], hard) if lim["softSl"] is not None else hard

    def _postpaid(self):
        """A prepaid-only team (variant prepaid_only) is refused the postpaid routes."""
        if self.app.variants.get("prepaid_only"):
            raise ApiError(403, "The team has no postpaid billing: it is prepaid only")

    def preview(self, req):
        self._postpaid()
        now = datetime.now(timezone.utc)
        with self.state.lock:
            lines = self.billing["preview_lines"]
            before = sum(int(line["amount"]) for line in lines)
            credit = self._total()           # negative = credit available
            used = min(before, -credit) if credit < 0 else 0
            _, effective = self._limits()
            core = msg(lines=[prune(line) for line in lines], amountBeforeVat=i64(before),
                       vatCost=None, amountAfterVat=i64(before), totalWithCorr=cent(before),
                       prepaidCredits=cent(credit), prepaidCreditsUsed=cent(used),
                       autoCreditsIssued=None, defaultCreditsIssued=None)
            return Response.json(msg(coreInvoice=core, effectiveSpendingLimit=i64(effective),
                                     defaultCredits=None,
                                     billingCycle={"year": now.year, "month": now.month}))

    def get_limits(self, req):
        self._postpaid()
        with self.state.lock:
            lim = self.billing["limits"]
            hard, effective = self._limits()
            out = {"hardSlAuto": cent(lim["hardSlAuto"]), "effectiveHardSl": cent(hard),
                   "effectiveSl": cent(effective)}
            if lim["hardSlOverride"]:
                out["hardSlOverride"] = cent(lim["hardSlOverride"])
            if lim["softSl"] is not None:
                out["softSl"] = cent(lim["softSl"])
            return Response.json({"spendingLimits": out})

    def set_limit(self, req):
        self._postpaid()
        body = req.json()
        value = as_cent(body.get("desiredSoftSpendingLimit"), "desiredSoftSpendingLimit")
        with self.state.lock:
            hard, _ = self._limits()
            if value < 0 or value > hard:
                raise ApiError(400, "soft spending limit must be between 0 and %d cents" % hard)
            self.billing["limits"]["softSl"] = value
            self.audit("Set soft spending limit to %d cents" % value)
        return Response.json({"thisBpSoftSpendingLimit": cent(value)})

    def _settle(self):
        """Pending top-ups succeed once the processing delay has passed."""
        now = time.monotonic()
        for c in self.billing["changes"]:
            if c["topupStatus"] in self.TOPUP_PENDING and c["ready_at"] is not None \
                    and now >= c["ready_at"]:
                c["topupStatus"], c["ready_at"] = "SUCCEEDED", None

    def _total(self):
        self._settle()
        return sum(c["amount"] for c in self.billing["changes"]
                   if c["changeOrigin"] in ("SPEND", "REFUND", "MANUAL")
                   or c["topupStatus"] == "SUCCEEDED")

    def _change(self, c):
        return msg(teamId=self.state.team_id, changeOrigin=c["changeOrigin"],
                   topupStatus=c["topupStatus"], amount=cent(c["amount"]),
                   invoiceId=c["invoiceId"], invoiceNumber=c["invoiceNumber"],
                   createTime=ts(c["created"]), spendBpKeyYear=c["spendYear"],
                   spendBpKeyMonth=c["spendMonth"], createTs=ts(c["created"]))

    def balance(self, req):
        with self.state.lock:
            total = self._total()
            changes = sorted(self.billing["changes"], key=lambda c: c["created"], reverse=True)
            return Response.json(msg(changes=[self._change(c) for c in changes],
                                     total=cent(total)))

    def top_up(self, req):
        body = req.json()
        amount = abs(as_cent(body.get("amount"), "amount"))
        if amount == 0:
            raise ApiError(400, "amount must not be zero")
        with self.state.lock:
            self._settle()
            for c in self.billing["changes"]:
                if c["changeOrigin"] == "PURCHASE" and c["topupStatus"] in self.TOPUP_PENDING:
                    return Response.json({"change": self._change(c)})
            invoice = base64.b64encode(uuid.uuid4().bytes + b"\0\0\0\0").decode()
            change = {"changeOrigin": "PURCHASE", "topupStatus": "TO_CHARGE", "amount": -amount,
                      "created": time.time(), "invoiceId": invoice,
                      "invoiceNumber": "%03d-%03d-%03d-%03d" % tuple(secrets.randbelow(1000)
                                                                     for _ in range(4)),
                      "spendYear": 0, "spendMonth": 0,
                      "ready_at": time.monotonic() + self.state.process_delay}
            self.billing["changes"].append(change)
            self.audit("Top-up of %d cents" % amount)
            return Response.json({"change": self._change(change)})

    def usage(self, req):
        body = req.json()
        ar = body.get("analyticsRequest", body.get("analytics_request"))
        if not isinstance(ar, dict):
            raise ApiError(400, "analyticsRequest must be an object")
        with self.state.lock:
            key_labels = [(k.id, k.name) for k in self.state.keys.values()]
        return Response.json(Usage(ar, key_labels).run())
