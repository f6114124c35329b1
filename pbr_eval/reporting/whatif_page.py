"""The what-if page: one self-contained HTML file a commissioner explores offline.

Sliders and number fields for the contract's inputs recompute, in the browser,
the figures of :func:`pbr_eval.pricing.whatif.whatif` (price at the accepted
risk, band, chance of paying for deadweight, break-even, expected payments,
budget at 95%, monthly cash flow, peak working capital, net present value)
from the embedded evidence: the non-intervention rate's distribution
(estimate, standard error and scale, or draws: aggregates only). The
JavaScript is a line-by-line port of :mod:`pbr_eval.pricing.whatif`, so the
page, the workbook and the Python API show the same numbers
(``tests/test_whatif_page.py`` drives the page in Chromium and compares).

No server, no network, no external fonts or scripts: everything (CSS, JS,
data, the charts as inline SVG) is in the one file, so it works from an email
attachment. "Copy these settings" gives the ``[pricing]`` and ``[contract]``
tables of an analysis file that ``pbr-eval run`` accepts.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pbr_eval.exceptions import OptionError
from pbr_eval.kinds import DEFAULT_CURRENCY
from pbr_eval.pricing.whatif import RISK_LEVELS, Evidence, WhatIfInputs
from pbr_eval.reporting.contract import contract_outcomes, recommendation_of

__all__ = ["whatif_settings", "render_whatif", "write_whatif", "page_inputs"]


def _finite(x: Any) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def whatif_settings(pricing: Any, results: Any = None) -> dict[str, Any]:
    """Return the page's embedded data from a price recommendation or a commissioner bundle.

    The starting values are those of :func:`pbr_eval.reporting.contract.contract_outcomes`,
    the one reading of a contract the tariff report and the workbook use too.

    Parameters
    ----------
    pricing : PriceRecommendation, mapping
        From :func:`pbr_eval.price` (or its ``to_dict()``), or the bundle of
        :func:`pbr_eval.analysis.commissioner_bundle` (its ``contract`` and
        cash flow set the contract's starting values).
    results : CounterfactualResults or dict, optional
        The estimates (a rate's distribution, e.g. bootstrap draws, becomes the
        evidence); default: the recommendation's rate and standard error.

    Returns
    -------
    dict
        ``outcomes``: one entry per priced outcome with its ``evidence``
        (:class:`~pbr_eval.pricing.whatif.Evidence` as a dict) and starting
        ``inputs`` (:class:`~pbr_eval.pricing.whatif.WhatIfInputs` as a dict),
        ``better``, ``outcome`` (the results' name); ``level``; ``risks``.

    Raises
    ------
    OptionError
        When no price recommendation is given, or a row cannot be priced.
    """
    rec = recommendation_of(pricing)
    if rec is None:
        raise OptionError(
            "`pricing` is needed for the what-if page: give the price recommendation "
            "(pbr_eval.price(...)) or the commissioner bundle; got "
            f"{type(pricing).__name__}.")
    frame = rec.to_frame().set_index("outcome")
    outcomes = []
    for o in contract_outcomes(results, pricing):
        if not (_finite(o.evidence.estimate) and _finite(o.evidence.se)):
            raise OptionError(f"The price of {o.paid!r} has no finite non-intervention rate "
                              "and standard error; it cannot be explored.")
        outcomes.append({"outcome": o.outcome, "paid": o.paid, "better": o.better,
                         "evidence": o.evidence.to_dict(), "inputs": o.inputs.to_dict(),
                         "expected_default": float(frame.loc[o.outcome, "expected_rate"])})
    return {"outcomes": outcomes, "level": float(rec.level), "risks": list(RISK_LEVELS)}


def page_inputs(settings: Mapping[str, Any], index: int = 0) -> tuple[WhatIfInputs, Evidence]:
    """Return the Python objects of one outcome of :func:`whatif_settings` (for checks)."""
    o = settings["outcomes"][index]
    ev = dict(o["evidence"])
    ev["bounds"] = tuple(-math.inf if b is None and i == 0 else math.inf if b is None else b
                         for i, b in enumerate(ev["bounds"]))
    ev["draws"] = None if ev["draws"] is None else tuple(ev["draws"])
    inp = dict(o["inputs"])
    inp["referral_profile"] = tuple(inp["referral_profile"])
    return WhatIfInputs(**inp), Evidence(**ev)


def _json_for_html(data: Any) -> str:
    text = json.dumps(data, allow_nan=False, sort_keys=True)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


_CSS = """
:root{--ink:#1a1a1a;--muted:#4a4a4a;--line:#b8b8b8;--accent:#0b5394;--bad:#9c1c1c;--bg:#fff;
--panel:#f3f5f8}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:var(--ink);
background:var(--bg);margin:0;line-height:1.45;font-size:16px}
header,main,footer{max-width:1200px;margin:0 auto;padding:0 16px}
h1{font-size:1.6rem;margin:16px 0 4px}h2{font-size:1.2rem;margin:20px 0 8px}
p.lead{color:var(--muted);margin:0 0 12px}
.layout{display:grid;grid-template-columns:minmax(300px,420px) minmax(0,1fr);gap:20px}
fieldset{border:1px solid var(--line);border-radius:6px;margin:0 0 12px;padding:8px 12px}
legend{font-weight:600;padding:0 4px}
.field{margin:8px 0}
.field label{display:block;font-weight:600;font-size:.95rem}
.field .hint{display:block;color:var(--muted);font-size:.85rem}
.pair{display:flex;gap:8px;align-items:center}
.pair input[type=range]{flex:1;min-width:0}
.pair input[type=number],.field input[type=text],.field select{width:9em;font-size:1rem;
padding:3px 4px;border:1px solid #767676;border-radius:3px}
.field input[type=text]{width:100%}
input:focus-visible,select:focus-visible,button:focus-visible,textarea:focus-visible{
outline:3px solid #1c6dd0;outline-offset:2px}
.figs{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:10px;margin:0}
.fig{background:var(--panel);border-radius:6px;padding:8px 10px;margin:0}
.fig dt{font-size:.88rem;color:var(--muted)}
.fig dd{margin:2px 0 0;font-size:1.35rem;font-weight:700}
.fig dd small{display:block;font-size:.82rem;font-weight:400;color:var(--muted)}
#message{color:var(--bad);font-weight:600;min-height:1.2em}
table{border-collapse:collapse;margin:6px 0;font-size:.95rem}
th,td{border-bottom:1px solid var(--line);padding:3px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}
svg{max-width:100%;height:auto;display:block}
.chart{border:1px solid var(--line);border-radius:6px;padding:6px;margin:8px 0}
textarea{width:100%;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9rem;
min-height:16em;border:1px solid #767676}
button{font-size:1rem;padding:5px 12px;border:1px solid var(--accent);background:var(--accent);
color:#fff;border-radius:4px;cursor:pointer}
.explain{font-size:.92rem;color:var(--ink);background:#fffbe6;border-left:4px solid #b58900;
padding:6px 10px}
@media (max-width:900px){.layout{grid-template-columns:1fr}}
@media print{.controls input[type=range]{display:none}button,#copy-box{display:none}
.layout{grid-template-columns:1fr 1.4fr}body{font-size:11pt}.fig dd{font-size:13pt}
@page{size:A4 landscape;margin:12mm}}
"""

# The JavaScript port of pbr_eval.pricing.whatif (one function per Python function).
_JS = r"""
'use strict';
const DATA = JSON.parse(document.getElementById('whatif-data').textContent);
const CUR = DATA.currency;
// ---- the normal distribution (Marsaglia 2004 series; Laplace continued fraction in the tail)
function phi(x){return Math.exp(-0.5*x*x)/Math.sqrt(2*Math.PI);}
function normCdf(x){
  if(isNaN(x))return NaN; if(x===Infinity)return 1; if(x===-Infinity)return 0;
  const a=Math.abs(x); let lower;
  if(a<5){let s=a,t=a,i=1;while(true){t*=a*a/(2*i+1);const n=s+t;if(n===s)break;s=n;i++;}
    lower=0.5-phi(a)*s;}
  else{let f=a;for(let k=120;k>=1;k--)f=a+k/f;lower=phi(a)/f;}
  return x>=0?1-lower:lower;}
function normSf(x){return normCdf(-x);}
function normPpf(p){
  if(p<=0)return -Infinity; if(p>=1)return Infinity;
  const a=[-3.969683028665376e+01,2.209460984245205e+02,-2.759285104469687e+02,
    1.383577518672690e+02,-3.066479806614716e+01,2.506628277459239e+00];
  const b=[-5.447609879822406e+01,1.615858368580409e+02,-1.556989798598866e+02,
    6.680131188771972e+01,-1.328068155288572e+01];
  const c=[-7.784894002430293e-03,-3.223964580411365e-01,-2.400758277161838e+00,
    -2.549732539343734e+00,4.374664141464968e+00,2.938163982698783e+00];
  const d=[7.784695709041462e-03,3.224671290700398e-01,2.445134137142996e+00,
    3.754408661907416e+00];
  let x;
  if(p<0.02425){const q=Math.sqrt(-2*Math.log(p));
    x=(((((c[0]*q+c[1])*q+c[2])*q+c[3])*q+c[4])*q+c[5])/((((d[0]*q+d[1])*q+d[2])*q+d[3])*q+1);}
  else if(p<=1-0.02425){const q=p-0.5,r=q*q;
    x=(((((a[0]*r+a[1])*r+a[2])*r+a[3])*r+a[4])*r+a[5])*q/(((((b[0]*r+b[1])*r+b[2])*r+b[3])*r+b[4])*r+1);}
  else{const q=Math.sqrt(-2*Math.log(1-p));
    x=-(((((c[0]*q+c[1])*q+c[2])*q+c[3])*q+c[4])*q+c[5])/((((d[0]*q+d[1])*q+d[2])*q+d[3])*q+1);}
  for(let k=0;k<2;k++){  // Halley steps on the precise cdf
    const u=(normCdf(x)-p)/phi(x);x=x-u/(1+x*u/2);}
  return x;}
// ---- the evidence: a distribution of the non-intervention rate (pricing.rates.RateDistribution)
function logit(x){x=Math.min(Math.max(x,0),1);return Math.log(x/(1-x));}
function expit(z){return z>=0?1/(1+Math.exp(-z)):Math.exp(z)/(1+Math.exp(z));}
function makeEvidence(e){
  const lo=e.bounds[0]===null?-Infinity:e.bounds[0], hi=e.bounds[1]===null?Infinity:e.bounds[1];
  const draws=e.draws?e.draws.slice().sort((x,y)=>x-y):null;
  const s=e.scale==='logit'?e.se/(e.estimate*(1-e.estimate)):e.scale==='log'?e.se/e.estimate:e.se;
  const to=x=>e.scale==='logit'?logit(x):e.scale==='log'?Math.log(Math.max(x,0)):x;
  const from=z=>e.scale==='logit'?expit(z):e.scale==='log'?Math.exp(z):z;
  const clip=x=>Math.min(Math.max(x,lo),hi);
  const ev={outcome:e.outcome,type:e.outcome_type,scale:e.scale};
  ev.centre=draws?draws.reduce((a,b)=>a+b,0)/draws.length:e.estimate;
  ev.quantile=function(q){
    if(draws){const h=(draws.length-1)*q,i=Math.floor(h);
      return i+1<draws.length?draws[i]+(h-i)*(draws[i+1]-draws[i]):draws[i];}
    if(e.se===0)return e.estimate;
    return clip(from(to(e.estimate)+s*normPpf(q)));};
  ev.sf=function(x){
    if(draws){let k=0;for(const v of draws)if(v>x)k++;return k/draws.length;}
    if(e.se===0)return e.estimate>x?1:0;
    if(x<lo)return 1; if(x>=hi)return 0;
    return normSf((to(x)-to(e.estimate))/s);};
  return ev;}
// ---- pricing.whatif, function by function
function notViable(msg){const err=new Error(msg);err.notViable=true;return err;}
function minimumLevel(I,E){return I.mpl_uplift===null?0:E.centre*(1+I.mpl_uplift);}
function paidPerParticipant(I,E){const k=I.expected_rate-minimumLevel(I,E);
  if(k<=0)throw notViable('The expected rate does not exceed the minimum performance level: '+
    'no outcome would be paid. Lower the uplift or raise the expected rate.');return k;}
function rateAtRisk(E,risk){return E.quantile(1-risk);}
function feeUsed(I,E){
  if(I.attachment_share===null)return I.attachment_fee;
  const s=I.attachment_share,k=paidPerParticipant(I,E);
  const worth=I.value_per_outcome*(I.expected_rate-rateAtRisk(E,I.risk));
  return Math.max(0,s*worth/(k*(1-s)+s));}
function ceilingAt(I,E,rate,a){const k=paidPerParticipant(I,E);
  return (I.value_per_outcome*(I.expected_rate-rate)-a)/k;}
function priceAtRisk(I,E,risk){const a=feeUsed(I,E);
  return Math.max(0,ceilingAt(I,E,rateAtRisk(E,risk===undefined?I.risk:risk),a));}
function priceBand(I,E){const a=feeUsed(I,E);
  const lo=E.quantile(0.5-I.level/2),hi=E.quantile(0.5+I.level/2);
  return [Math.max(0,ceilingAt(I,E,hi,a)),Math.max(0,ceilingAt(I,E,Math.max(lo,0),a))];}
function priceUsed(I,E){return I.price_paid!==null?I.price_paid:priceAtRisk(I,E);}
function roundTo(x,d){const f=Math.pow(10,d);return Math.round(x*f)/f;}
function deadweightChance(I,E,p){const a=feeUsed(I,E);
  if(a<=0&&p<=0)return 0;const k=paidPerParticipant(I,E);
  let nStar=I.expected_rate-(a+p*k)/I.value_per_outcome;
  if(E.scale==='draws')nStar=roundTo(nStar,12);
  return E.sf(nStar);}
function breakEven(I,E){const a=feeUsed(I,E);
  return Math.max(0,(I.cost_per_participant-a)/paidPerParticipant(I,E));}
function outcomeSd(I,E){const n=I.cohort_size,r=I.expected_rate;
  return E.type==='binary'?Math.sqrt(n*r*Math.max(0,1-r)):Math.sqrt(n*r);}
function capped(I,x){return I.cap===null?x:Math.min(I.cap,x);}
function budgetAt(I,E,q,p){const a=feeUsed(I,E),n=I.cohort_size;
  const paid=n*I.expected_rate+normPpf(q)*outcomeSd(I,E)-n*minimumLevel(I,E);
  return capped(I,n*a+p*Math.max(0,paid));}
function expectedTotal(I,E,p){const a=feeUsed(I,E);
  const met=I.trigger===null||I.expected_rate>=I.trigger;const k=paidPerParticipant(I,E);
  return capped(I,I.cohort_size*(a+(met?p*k:0)));}
function triggerChance(I,E){if(I.trigger===null)return 1;const sd=outcomeSd(I,E);
  const gap=I.cohort_size*(I.trigger-I.expected_rate);
  if(sd===0)return gap<=0?1:0;return normSf(gap/sd);}
function referralsByMonth(I){const w=I.referral_profile,t=w.reduce((a,b)=>a+b,0);
  return w.map(x=>I.cohort_size*x/t);}
function horizon(I){return I.referral_profile.length+Math.max(I.delivery_months-1,
  I.outcome_lag+I.payment_lag,I.payment_lag);}
function monthlyCashFlow(I,payments,fee){
  const ref=referralsByMonth(I),h=horizon(I),dm=I.delivery_months,lo=I.outcome_lag,
    lp=I.payment_lag;
  const z=()=>new Array(h).fill(0);const cost=z(),att=z(),out=z(),refs=z();
  for(let j=0;j<dm;j++)for(let i=0;i<ref.length;i++)cost[j+i]+=ref[i]*I.cost_per_participant/dm;
  for(let i=0;i<ref.length;i++)att[lp+i]+=ref[i]*fee;
  let per=0;for(const [p,k] of payments)per+=p*k;
  for(let i=0;i<ref.length;i++)out[lo+lp+i]+=ref[i]*per;
  if(I.cap!==null){let paid=0;for(let t=0;t<h;t++){
    att[t]=Math.min(att[t],Math.max(0,I.cap-paid));paid+=att[t];
    out[t]=Math.min(out[t],Math.max(0,I.cap-paid));paid+=out[t];}}
  for(let i=0;i<ref.length;i++)refs[i]=ref[i];
  const net=att.map((x,t)=>x+out[t]-cost[t]);const cash=[];let c=0;
  for(const x of net){c+=x;cash.push(c);}
  return {month:net.map((_,t)=>t),referrals:refs,delivery_cost:cost,attachment_income:att,
    outcome_income:out,net:net,cash_position:cash};}
function npv(flows,d){let s=0;for(let t=0;t<flows.length;t++)s+=flows[t]/Math.pow(1+d,t/12);
  return s;}
function whatif(I,E){
  const a=feeUsed(I,E),k=paidPerParticipant(I,E),p=priceUsed(I,E),band=priceBand(I,E);
  const met=I.trigger===null||I.expected_rate>=I.trigger;
  const sched=monthlyCashFlow(I,[[p,met?k:0]],a);
  return {rate_at_risk:rateAtRisk(E,I.risk),attachment_fee:a,
    ceiling:ceilingAt(I,E,E.centre,a),recommended:priceAtRisk(I,E),price_paid:p,
    band_lower:band[0],band_upper:band[1],deadweight_chance:deadweightChance(I,E,p),
    break_even:breakEven(I,E),expected_total:expectedTotal(I,E,p),
    budget_95:budgetAt(I,E,0.95,p),trigger_chance:triggerChance(I,E),
    peak_working_capital:Math.max(0,-Math.min(...sched.cash_position)),
    npv:npv(sched.net,I.discount_rate),
    price_by_risk:DATA.risks.map(q=>[q,priceAtRisk(I,E,q)]),schedule:sched};}
// ---- formatting (plain words: currency symbol, percentages, whole pounds)
function money(x){if(!isFinite(x))return 'not available';const neg=x<-0.005;
  const v=Math.abs(x);const s=v>=100||Math.abs(v-Math.round(v))<0.005?
    Math.round(v).toLocaleString('en-GB'):v.toLocaleString('en-GB',{minimumFractionDigits:2,maximumFractionDigits:2});
  return (neg?'\u2212':'')+CUR+s;}
function pct(x,d){if(!isFinite(x))return 'not available';
  return (x*100).toLocaleString('en-GB',{minimumFractionDigits:d===undefined?1:d,maximumFractionDigits:d===undefined?1:d})+'%';}
// ---- the controls
const $=id=>document.getElementById(id);
let current=0;
function readNumber(id){const el=$(id);const t=el.value.trim();if(t==='')return null;
  const v=Number(t);if(!isFinite(v))throw notViable('"'+labelOf(id)+'" must be a number.');return v;}
function labelOf(id){const l=document.querySelector('label[for="'+id+'"]');return l?l.textContent.trim():id;}
function need(v,id,lo,hi,open){
  if(v===null)throw notViable('Give "'+labelOf(id)+'".');
  if(v<lo||(open&&v===lo)||v>hi||(open&&v===hi))throw notViable('"'+labelOf(id)+'" must be between '+lo+' and '+hi+'.');
  return v;}
function readProfile(){const t=$('in-profile').value.trim();
  const w=t.split(/[\s,;]+/).filter(s=>s!=='').map(Number);
  if(!w.length||w.some(x=>!isFinite(x)||x<0)||w.reduce((a,b)=>a+b,0)<=0)
    throw notViable('"'+labelOf('in-profile')+'" must be numbers of zero or more, at least one above zero, separated by commas.');
  return w;}
function readInputs(){
  const o=DATA.outcomes[current],I=Object.assign({},o.inputs);
  I.value_per_outcome=need(readNumber('in-value'),'in-value',0,1e12,true);
  I.expected_rate=need(readNumber('in-rate'),'in-rate',0,o.evidence.outcome_type==='binary'?100:1e9,true)/100;
  I.risk=need(readNumber('in-risk'),'in-risk',0,100,true)/100;
  const mode=$('in-feemode').value;
  if(mode==='share'){I.attachment_share=need(readNumber('in-share'),'in-share',0,99.9,false)/100;I.attachment_fee=0;}
  else{I.attachment_share=null;I.attachment_fee=need(readNumber('in-fee'),'in-fee',0,1e12,false);}
  I.cohort_size=Math.round(need(readNumber('in-cohort'),'in-cohort',1,1e9,false));
  I.cost_per_participant=need(readNumber('in-cost'),'in-cost',0,1e12,false);
  I.referral_profile=readProfile();
  I.outcome_lag=Math.round(need(readNumber('in-olag'),'in-olag',0,600,false));
  I.payment_lag=Math.round(need(readNumber('in-plag'),'in-plag',0,600,false));
  I.discount_rate=need(readNumber('in-discount'),'in-discount',0,99.9,false)/100;
  const cap=readNumber('in-cap');I.cap=cap===null?null:need(cap,'in-cap',0,1e15,false);
  const trig=readNumber('in-trigger');I.trigger=trig===null?null:need(trig,'in-trigger',0,1e9,false)/100;
  const mpl=readNumber('in-mpl');I.mpl_uplift=mpl===null?null:need(mpl,'in-mpl',0,100,false)/100;
  const paid=readNumber('in-paid');I.price_paid=paid===null?null:need(paid,'in-paid',0,1e12,false);
  return I;}
function setOut(id,value,text){const el=$(id);el.dataset.value=String(value);el.textContent=text;}
let last=null;
function recompute(){
  const o=DATA.outcomes[current];const E=makeEvidence(o.evidence);
  let I,F;
  try{I=readInputs();F=whatif(I,E);}
  catch(err){if(!err.notViable)throw err;$('message').textContent=err.message;
    document.querySelectorAll('[data-out]').forEach(el=>{el.textContent='not available';el.dataset.value='';});
    $('results').dataset.state='invalid';return;}
  $('message').textContent='';$('results').dataset.state='ok';
  setOut('out-recommended',F.recommended,money(F.recommended));
  setOut('out-paid',F.price_paid,money(F.price_paid));
  setOut('out-fee',F.attachment_fee,money(F.attachment_fee));
  setOut('out-ceiling',F.ceiling,money(F.ceiling));
  setOut('out-band-lower',F.band_lower,money(F.band_lower));
  setOut('out-band-upper',F.band_upper,money(F.band_upper));
  setOut('out-deadweight',F.deadweight_chance,pct(F.deadweight_chance));
  setOut('out-break-even',F.break_even,money(F.break_even));
  setOut('out-expected',F.expected_total,money(F.expected_total));
  setOut('out-budget',F.budget_95,money(F.budget_95));
  setOut('out-trigger',F.trigger_chance,pct(F.trigger_chance));
  setOut('out-peak',F.peak_working_capital,money(F.peak_working_capital));
  setOut('out-npv',F.npv,money(F.npv));
  setOut('out-rate-at-risk',F.rate_at_risk,pct(F.rate_at_risk));
  $('out-level').textContent=pct(I.level,0);
  $('out-viable').textContent=F.price_paid+1e-9>=F.break_even?
    'At this price the provider covers its cost per participant.':
    'At this price the provider does not cover its cost: it needs '+money(F.break_even)+
    ' per outcome. Pay more through the attachment fee, pilot longer to narrow the range, or lower the cost.';
  const rows=F.price_by_risk.map(([q,p])=>'<tr><td>'+pct(q)+'</td><td data-value="'+p+'">'+money(p)+'</td></tr>');
  $('risk-table').innerHTML=rows.join('');
  drawPriceCurve(I,E,F);drawCash(F.schedule);writeSettings(I,F,o);
  last={inputs:I,figures:F};window.whatifLast=last;}
// ---- charts (inline SVG)
const NS='http://www.w3.org/2000/svg';
function el(tag,attrs,text){const e=document.createElementNS(NS,tag);
  for(const k in attrs)e.setAttribute(k,attrs[k]);if(text!==undefined)e.textContent=text;return e;}
function axes(svg,W,H,m,xs,ys,xfmt,yfmt,xlab,ylab){
  svg.appendChild(el('line',{x1:m.l,y1:H-m.b,x2:W-m.r,y2:H-m.b,stroke:'#333'}));
  svg.appendChild(el('line',{x1:m.l,y1:m.t,x2:m.l,y2:H-m.b,stroke:'#333'}));
  for(const [v,x] of xs){svg.appendChild(el('text',{x:x,y:H-m.b+16,'text-anchor':'middle','font-size':12,fill:'#222'},xfmt(v)));}
  for(const [v,y] of ys){svg.appendChild(el('text',{x:m.l-6,y:y+4,'text-anchor':'end','font-size':12,fill:'#222'},yfmt(v)));
    svg.appendChild(el('line',{x1:m.l,y1:y,x2:W-m.r,y2:y,stroke:'#e2e2e2'}));}
  svg.appendChild(el('text',{x:(m.l+W-m.r)/2,y:H-4,'text-anchor':'middle','font-size':13,fill:'#222'},xlab));
  svg.appendChild(el('text',{x:14,y:(m.t+H-m.b)/2,'text-anchor':'middle','font-size':13,fill:'#222',
    transform:'rotate(-90 14 '+((m.t+H-m.b)/2)+')'},ylab));}
function ticks(lo,hi,n){const out=[];for(let i=0;i<=n;i++)out.push(lo+(hi-lo)*i/n);return out;}
function drawPriceCurve(I,E,F){
  const svg=$('price-chart');svg.innerHTML='';const W=640,H=300,m={l:78,r:16,t:14,b:44};
  const lo=E.quantile(0.001),hi=E.quantile(0.999);const xs=ticks(lo,hi,60);
  const a=F.attachment_fee;const ys=xs.map(x=>ceilingAt(I,E,x,a));
  let ymin=Math.min(0,...ys,F.price_paid),ymax=Math.max(...ys,F.price_paid,F.break_even,1);
  const X=x=>m.l+(x-lo)/(hi-lo||1)*(W-m.l-m.r),Y=y=>H-m.b-(y-ymin)/(ymax-ymin||1)*(H-m.t-m.b);
  axes(svg,W,H,m,ticks(lo,hi,4).map(v=>[v,X(v)]),ticks(ymin,ymax,4).map(v=>[v,Y(v)]),
    v=>pct(v),v=>money(v),'Share who would have had the outcome anyway','Most worth paying per outcome');
  svg.appendChild(el('polyline',{points:xs.map((x,i)=>X(x)+','+Y(ys[i])).join(' '),fill:'none',stroke:'#0b5394','stroke-width':2.5}));
  svg.appendChild(el('line',{x1:m.l,x2:W-m.r,y1:Y(F.price_paid),y2:Y(F.price_paid),stroke:'#9c1c1c','stroke-width':2,'stroke-dasharray':'6 4'}));
  svg.appendChild(el('line',{x1:X(E.centre),x2:X(E.centre),y1:m.t,y2:H-m.b,stroke:'#555','stroke-dasharray':'3 3'}));
  svg.appendChild(el('text',{x:W-m.r-4,y:Y(F.price_paid)-6,'text-anchor':'end','font-size':12,fill:'#9c1c1c'},'price paid '+money(F.price_paid)));
  svg.appendChild(el('text',{x:X(E.centre)+4,y:m.t+12,'font-size':12,fill:'#333'},'best estimate '+pct(E.centre)));}
function drawCash(S){
  const svg=$('cash-chart');svg.innerHTML='';const W=640,H=300,m={l:90,r:16,t:14,b:44};
  const n=S.month.length,c=S.cash_position;let ymin=Math.min(0,...c),ymax=Math.max(0,...c,1);
  const X=t=>m.l+(t+0.5)/n*(W-m.l-m.r),Y=y=>H-m.b-(y-ymin)/(ymax-ymin||1)*(H-m.t-m.b);
  axes(svg,W,H,m,ticks(0,n-1,Math.min(6,n-1)||1).map(v=>[Math.round(v),X(Math.round(v))]),
    ticks(ymin,ymax,4).map(v=>[v,Y(v)]),v=>String(v),v=>money(v),'Month','Provider\u2019s cash position');
  const bw=Math.max(1,(W-m.l-m.r)/n-1);
  for(let t=0;t<n;t++){const y0=Y(0),y1=Y(c[t]);
    svg.appendChild(el('rect',{x:X(t)-bw/2,y:Math.min(y0,y1),width:bw,height:Math.max(0.5,Math.abs(y1-y0)),
      fill:c[t]<0?'#b45f06':'#38761d'}));}
  svg.appendChild(el('line',{x1:m.l,x2:W-m.r,y1:Y(0),y2:Y(0),stroke:'#333'}));}
// ---- copy these settings: an analysis file's [pricing] and [contract] tables
function flat0(I){const w=I.referral_profile;return w.every(x=>x===w[0]);}
function tomlNumber(x){return Number.isInteger(x)?String(x):String(x);}
function tomlString(s){return JSON.stringify(s);}
function writeSettings(I,F,o){
  const L=[];
  L.push('# Settings from the what-if page. Paste over the [pricing] and [contract] tables');
  L.push('# of your analysis file, then run:  pbr-eval run your-analysis.toml');
  L.push('[pricing]');
  L.push('value_per_outcome = '+tomlNumber(I.value_per_outcome));
  L.push('expected_rate = '+tomlNumber(I.expected_rate));
  if(o.better==='lower')L.push('better = "lower"');
  L.push('outcomes = ['+tomlString(o.outcome)+']');
  if(!(flat0(I)&&Number.isInteger(I.cohort_size/I.referral_profile.length)))
    L.push('cohort_size = '+I.cohort_size);
  if(Math.abs(I.risk-0.025)<1e-12){L.push('rule = "upper"');L.push('level = 0.95');}
  else{L.push('rule = "one-sided"       # price at the accepted risk of paying for deadweight');
    L.push('level = '+tomlNumber(roundTo(1-I.risk,12)));}
  L.push('');L.push('[contract]');
  L.push('attachment_fee = '+tomlNumber(F.attachment_fee));
  L.push('cost_per_participant = '+tomlNumber(I.cost_per_participant));
  const w=I.referral_profile,flat=w.every(x=>x===w[0]);
  const perMonth=I.cohort_size/w.length;
  L.push('referrals_per_month = '+Math.max(0,Math.round(perMonth)));
  L.push('months_of_referrals = '+w.length);
  if(!(flat&&Number.isInteger(perMonth)))L.push('referral_profile = ['+w.map(tomlNumber).join(', ')+']');
  L.push('outcome_lag = '+I.outcome_lag);L.push('payment_lag = '+I.payment_lag);
  L.push('discount_rate = '+tomlNumber(I.discount_rate));
  if(I.cap!==null)L.push('cap = '+tomlNumber(I.cap));
  if(I.trigger!==null)L.push('trigger = '+tomlNumber(I.trigger));
  if(I.mpl_uplift!==null)L.push('mpl_uplift = '+tomlNumber(I.mpl_uplift));
  if(I.price_paid!==null)L.push('price_paid = '+tomlNumber(I.price_paid));
  $('settings').value=L.join('\n')+'\n';}
// ---- wiring: sliders and number fields move together; every change recomputes
function pairUp(id){const num=$(id),rng=$(id+'-range');if(!rng)return;
  rng.addEventListener('input',()=>{num.value=rng.value;recompute();});
  num.addEventListener('input',()=>{if(num.value.trim()!==''&&isFinite(Number(num.value)))rng.value=num.value;recompute();});}
function load(i){current=i;const o=DATA.outcomes[i],I=o.inputs;
  const set=(id,v)=>{$(id).value=v===null?'':String(v);const r=$(id+'-range');if(r&&v!==null){
    if(Number(r.max)<v)r.max=String(v*2);r.value=String(v);}};
  set('in-value',I.value_per_outcome);set('in-rate',Number((I.expected_rate*100).toPrecision(15)));
  set('in-risk',roundTo(I.risk*100,10));set('in-fee',I.attachment_fee);
  set('in-share',I.attachment_share===null?50:roundTo(I.attachment_share*100,10));
  $('in-feemode').value=I.attachment_share===null?'amount':'share';
  set('in-cohort',I.cohort_size);set('in-cost',I.cost_per_participant);
  $('in-profile').value=I.referral_profile.join(', ');
  set('in-olag',I.outcome_lag);set('in-plag',I.payment_lag);
  set('in-discount',roundTo(I.discount_rate*100,10));set('in-cap',I.cap);
  set('in-trigger',I.trigger===null?null:roundTo(I.trigger*100,10));
  set('in-mpl',I.mpl_uplift===null?null:roundTo(I.mpl_uplift*100,10));set('in-paid',I.price_paid);
  $('paid-name').textContent=o.paid;feeMode();recompute();}
function feeMode(){const share=$('in-feemode').value==='share';
  $('fee-amount').hidden=share;$('fee-share').hidden=!share;}
document.querySelectorAll('.controls input').forEach(e=>{if(!e.id.endsWith('-range')){
  if(!$(e.id+'-range'))e.addEventListener('input',recompute);else pairUp(e.id);}});
$('in-feemode').addEventListener('change',()=>{feeMode();recompute();});
$('in-outcome').addEventListener('change',()=>load(Number($('in-outcome').value)));
$('copy').addEventListener('click',()=>{const t=$('settings');t.focus();t.select();
  let ok=false;try{ok=document.execCommand('copy');}catch(e){ok=false;}
  $('copy-status').textContent=ok?'Copied.':'Selected: press Ctrl+C to copy.';});
$('reset').addEventListener('click',()=>load(current));
load(0);
"""


def _field(fid: str, label: str, hint: str, *, lo: float | None = None, hi: float | None = None,
           step: str = "any", slider: bool = True, kind: str = "number") -> str:
    hint_id = f"{fid}-hint"
    if kind == "text":
        control = (f'<input type="text" id="{fid}" aria-describedby="{hint_id}" '
                   'inputmode="decimal" autocomplete="off">')
    else:
        rng = ""
        if slider and lo is not None and hi is not None:
            rng = (f'<input type="range" id="{fid}-range" min="{lo}" max="{hi}" step="{step}" '
                   f'aria-label="{label} (slider)" tabindex="0">')
        lims = (f' min="{lo}"' if lo is not None else "") + (f' max="{hi}"'
                                                             if hi is not None and not slider
                                                             else "")
        control = (f'<div class="pair">{rng}<input type="number" id="{fid}"{lims} step="{step}" '
                   f'aria-describedby="{hint_id}"></div>')
    return (f'<div class="field"><label for="{fid}">{label}</label>{control}'
            f'<span class="hint" id="{hint_id}">{hint}</span></div>')


def _fig(fid: str, label: str, note: str = "") -> str:
    small = f"<small>{note}</small>" if note else ""
    return (f'<div class="fig"><dt id="{fid}-label">{label}</dt>'
            f'<dd><span id="{fid}" data-out aria-labelledby="{fid}-label" '
            f'aria-live="polite"></span>{small}</dd></div>')


def render_whatif(settings: Mapping[str, Any], *, title: str | None = None,
                  currency: str = DEFAULT_CURRENCY, generated: str = "") -> str:
    """Return the what-if page as one HTML string (inline CSS, JavaScript, data and charts).

    Parameters
    ----------
    settings : mapping
        From :func:`whatif_settings`.
    title : str, optional
    currency : str, default "£"
    generated : str
        Timestamp printed at the foot of the page.
    """
    from pbr_eval.reporting.safety import escape_html

    data = dict(settings)
    data["currency"] = currency
    outcomes = settings["outcomes"]
    options = "".join(f'<option value="{i}">{escape_html(o["paid"])}</option>'
                      for i, o in enumerate(outcomes))
    head = escape_html(title or "What if? Explore the tariff")
    cur = escape_html(currency)
    controls = "".join([
        '<div class="field"><label for="in-outcome">Outcome paid for</label>'
        f'<select id="in-outcome" aria-describedby="in-outcome-hint">{options}</select>'
        '<span class="hint" id="in-outcome-hint">The figures below are for this outcome.'
        '</span></div>',
        "<fieldset><legend>Value and risk</legend>",
        _field("in-value", f"Value of one additional outcome ({cur})",
               "What one outcome that would not have happened anyway is worth to the public "
               "purse (from a unit-cost source).", lo=0, hi=20000, step="50"),
        _field("in-rate", "Rate you expect with the programme (%)",
               "Share of participants with the outcome if the programme works as the pilot "
               "suggests.", lo=0, hi=100, step="0.1"),
        _field("in-risk", "Risk of paying for deadweight you accept (%)",
               "The chance you accept that the price pays for outcomes that would have "
               "happened anyway. Lower risk, lower price.", lo=0.5, hi=50, step="0.5"),
        "</fieldset><fieldset><legend>Payments</legend>",
        '<div class="field"><label for="in-feemode">Attachment fee set as</label>'
        '<select id="in-feemode" aria-describedby="in-feemode-hint">'
        '<option value="amount">an amount per participant</option>'
        '<option value="share">a share of the payment per participant</option></select>'
        '<span class="hint" id="in-feemode-hint">The attachment fee is paid for everyone who '
        'joins, whatever the outcome.</span></div>',
        '<div id="fee-amount">' + _field("in-fee", f"Attachment fee per participant ({cur})",
                                         "Lowers the price per outcome by the fee divided by "
                                         "the expected rate.", lo=0, hi=5000, step="10") + "</div>",
        '<div id="fee-share" hidden>' + _field(
            "in-share", "Attachment fee as a share of fee plus price (%)",
            "E.g. 80% in the first year of the Troubled Families programme.", lo=0, hi=95,
            step="1") + "</div>",
        _field("in-paid", f"Price you pay per outcome ({cur}, optional)",
               "Leave empty to pay the recommended price.", lo=0, slider=False, step="any"),
        _field("in-cap", f"Cap on total payments for the cohort ({cur}, optional)",
               "Leave empty for no cap.", lo=0, slider=False),
        _field("in-trigger", "Trigger: rate the cohort must reach before outcomes are paid "
               "(%, optional)", "Leave empty for no trigger.", lo=0, slider=False),
        _field("in-mpl", "Minimum performance level: uplift on the non-intervention rate "
               "(%, optional)", "Only outcomes above the estimated rate plus this uplift are "
               "paid. Leave empty for none.", lo=0, slider=False),
        "</fieldset><fieldset><legend>Contract and provider</legend>",
        _field("in-cohort", "People in the cohort", "Participants the contract pays for.",
               lo=1, hi=5000, step="1"),
        _field("in-cost", f"Provider's cost per participant ({cur})",
               "What delivering the service costs the provider for one person.", lo=0,
               hi=10000, step="10"),
        _field("in-profile", "Referrals by month (relative numbers, comma-separated)",
               "E.g. 1, 1, 2, 2 refers twice as many people in months 3 and 4; the cohort is "
               "shared out in these proportions.", kind="text"),
        _field("in-olag", "Months from referral until the outcome is known",
               "Follow-up plus the time the data take.", lo=0, hi=36, step="1"),
        _field("in-plag", "Months from evidence to payment", "Also the delay of the "
               "attachment fee after referral.", lo=0, hi=12, step="1"),
        _field("in-discount", "Discount rate a year (%)", "HM Treasury's Green Book uses "
               "3.5%.", lo=0, hi=15, step="0.1"),
        "</fieldset>",
        '<button type="button" id="reset">Back to the starting values</button>',
    ])
    figures = "".join([
        _fig("out-recommended", "Recommended price per outcome",
             "at the risk you accept"),
        _fig("out-paid", "Price paid per outcome"),
        _fig("out-fee", "Attachment fee per participant"),
        _fig("out-band-lower", "Price range: low end", "if the rate without the programme is "
             "at the top of its range"),
        _fig("out-band-upper", "Price range: high end", "if it is at the bottom"),
        _fig("out-ceiling", "Most worth paying at the best estimate"),
        _fig("out-deadweight", "Chance of paying for deadweight", "at the price paid"),
        _fig("out-break-even", "Provider's break-even price per outcome"),
        _fig("out-expected", "Expected payments for the cohort"),
        _fig("out-budget", "Budget that covers payments 95 times in 100"),
        _fig("out-trigger", "Chance the cohort reaches the trigger"),
        _fig("out-peak", "Provider's peak working capital", "most it is out of pocket"),
        _fig("out-npv", "Provider's net present value", "at the discount rate"),
        _fig("out-rate-at-risk", "Rate without the programme used for the price"),
    ])
    payload = _json_for_html(data)
    return f"""<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>{head}</title><style>{_CSS}</style></head>
<body><header><h1>{head}</h1>
<p class="lead">Change the inputs on the left; every figure and both charts are worked out
again at once in this page, from the evaluation's estimate of how many people would have had
the outcome without the programme (<span id="paid-name"></span>). Nothing is sent anywhere:
the page works offline.</p></header>
<main><div class="layout"><form class="controls" aria-label="Inputs" onsubmit="return false">
{controls}</form>
<section id="results" aria-label="Figures" data-state="">
<p id="message" role="alert"></p>
<h2>Price and risk</h2><dl class="figs">{figures}</dl>
<p id="out-viable"></p>
<p class="explain"><strong>Two different risks.</strong> The <em>risk you accept</em> sets the
recommended price: it is the chance that the rate without the programme is higher than the
one the price assumes (<span id="out-level"></span> range of the estimate). The
<em>chance of paying for deadweight</em> is worked out at the price actually paid, with the
attachment fee included: paying a fee, or more than the recommended price, raises it. Both
come from the same estimate; neither covers bias the comparison group could not remove.</p>
<h2>Price by risk accepted</h2>
<table aria-label="Recommended price for each risk of paying for deadweight"><thead><tr>
<th scope="col">Risk accepted</th><th scope="col">Recommended price per outcome</th></tr>
</thead><tbody id="risk-table"></tbody></table>
<h2>Price curve</h2>
<div class="chart"><svg id="price-chart" viewBox="0 0 640 300" role="img"
aria-label="The most worth paying per outcome against the share who would have had the outcome anyway; the dashed red line is the price paid, the dotted line the best estimate."></svg></div>
<h2>Provider's cash flow</h2>
<div class="chart"><svg id="cash-chart" viewBox="0 0 640 300" role="img"
aria-label="The provider's cash position month by month: below zero (orange) it is funding the service from its own money."></svg></div>
<h2 id="copy-head">Copy these settings</h2>
<div id="copy-box"><p>Paste these lines into your analysis file in place of its
<code>[pricing]</code> and <code>[contract]</code> tables and run it with
<code>pbr-eval run</code>: the chosen tariff goes back into the reproducible analysis.</p>
<label for="settings">Settings for the analysis file</label>
<textarea id="settings" readonly aria-describedby="copy-status"></textarea>
<p><button type="button" id="copy">Copy these settings</button>
<span id="copy-status" role="status"></span></p></div>
</section></div></main>
<footer><p class="lead">Made by pbr-eval{(' on ' + escape_html(generated)) if generated else ''}.
Aggregates only: no person's record is in this page.</p></footer>
<script type="application/json" id="whatif-data">{payload}</script>
<script>{_JS}</script>
</body></html>
"""


def write_whatif(pricing: Any, path: str | Path, *, title: str | None = None,
                 currency: str = DEFAULT_CURRENCY, generated: str | None = None,
                 results: Any = None) -> Path:
    """Write the what-if page for a price recommendation (or commissioner bundle).

    ``results`` (optional) are the estimates whose distribution becomes the
    evidence, as in the tariff report and the workbook (:func:`whatif_settings`).

    Examples
    --------
    >>> import pbr_eval, tempfile, os
    >>> rec = pbr_eval.price(0.05, se=0.005, value_per_outcome=4000, expected_rate=0.10,
    ...                      outcome_name="job")
    >>> with tempfile.TemporaryDirectory() as d:
    ...     write_whatif(rec, os.path.join(d, "whatif.html")).name
    'whatif.html'
    """
    from pbr_eval.io import write_text

    html = render_whatif(whatif_settings(pricing, results), title=title, currency=currency,
                         generated=generated or "")
    return write_text(Path(path), html)
