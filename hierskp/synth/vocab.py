"""Text material: procedure names, per-procedure anatomy, per-operation phrase templates.

Template syntax: `[a|b|c]` picks one alternative, `{slot}` is filled from the procedure's
anatomy (falling back to GENERIC). Keeping the data here and the sampling in `texts.py`
lets the vocabulary grow without touching logic.
"""

from __future__ import annotations

PROC_NAMES: dict[str, list[str]] = {
    "thyroidectomy": ["open thyroidectomy", "thyroidectomy", "thyroid lobectomy", "open thyroid resection"],
    "parathyroidectomy": [
        "open parathyroidectomy",
        "parathyroidectomy",
        "parathyroid exploration",
        "neck exploration for parathyroid adenoma",
    ],
    "inguinal_hernia_repair": [
        "open inguinal hernia repair",
        "Lichtenstein repair",
        "inguinal hernioplasty",
        "groin hernia repair",
    ],
    "ventral_hernia_repair": [
        "open ventral hernia repair",
        "incisional hernia repair",
        "ventral hernioplasty",
        "abdominal wall hernia repair",
    ],
    "appendectomy": ["open appendectomy", "appendicectomy", "open appendix removal"],
    "open_cholecystectomy": [
        "open cholecystectomy",
        "open gallbladder removal",
        "cholecystectomy through a subcostal incision",
    ],
    "bowel_resection": [
        "laparotomy with bowel resection",
        "open colectomy",
        "open segmental bowel resection",
        "exploratory laparotomy and resection",
    ],
    "mastectomy": ["simple mastectomy", "total mastectomy", "open mastectomy", "breast removal"],
}

GENERIC: dict[str, list[str]] = {
    "site": ["planned", "marked"],
    "cut": ["the skin", "the dermis", "the subcutaneous tissue"],
    "plane": ["the tissue plane", "the soft tissue"],
    "exposed": ["the operative field", "the deep structures"],
    "vessel": ["the feeding vessels", "the vascular pedicle"],
    "nerve": ["the nerve", "the nerve branch"],
    "specimen": ["the specimen", "the diseased tissue"],
    "bed": ["the operative field", "the wound bed"],
    "defect": ["the defect", "the weak area"],
    "mesh": ["a polypropylene mesh", "the mesh", "a prosthetic mesh"],
    "bowel": ["the bowel ends", "the two limbs"],
    "drain": ["a closed suction drain", "a drain", "a Blake drain"],
    "fascia": ["the fascia", "the fascial layer"],
    "skin": ["the skin", "the skin edges", "the wound edges"],
}

PROC_SLOTS: dict[str, dict[str, list[str]]] = {
    "thyroidectomy": {
        "site": ["transverse cervical", "low collar", "Kocher collar"],
        "plane": ["subplatysmal flaps", "the plane beneath the platysma", "the strap muscles"],
        "exposed": ["the thyroid lobe", "the thyroid gland", "the superior pole"],
        "vessel": ["the superior thyroid vessels", "the superior pole vessels", "the middle thyroid vein"],
        "nerve": ["the recurrent laryngeal nerve", "the RLN", "the external laryngeal nerve"],
        "specimen": ["the thyroid lobe", "the thyroid gland", "the lobe and isthmus"],
        "bed": ["the thyroid bed", "the central neck"],
        "fascia": ["the strap muscles", "the midline raphe", "the platysma"],
    },
    "parathyroidectomy": {
        "site": ["transverse cervical", "small collar", "low neck"],
        "plane": ["the paratracheal plane", "the tissue behind the thyroid", "the strap muscles"],
        "exposed": ["the posterior thyroid surface", "the tracheoesophageal groove", "the thyroid lobe"],
        "vessel": ["the parathyroid pedicle", "the feeding vessel of the adenoma", "the middle thyroid vein"],
        "nerve": ["the recurrent laryngeal nerve", "the RLN"],
        "specimen": ["the parathyroid adenoma", "the enlarged parathyroid gland", "the adenoma"],
        "bed": ["the paratracheal space", "the neck wound"],
        "fascia": ["the strap muscles", "the midline raphe", "the platysma"],
    },
    "inguinal_hernia_repair": {
        "site": ["oblique groin", "inguinal", "groin crease"],
        "plane": ["the external oblique aponeurosis", "the inguinal canal", "the cord structures"],
        "exposed": ["the spermatic cord", "the inguinal floor", "the hernia sac"],
        "specimen": ["the hernia sac", "the indirect sac", "the redundant sac"],
        "bed": ["the inguinal canal", "the groin wound"],
        "defect": ["the inguinal floor", "the posterior wall", "the deep ring"],
        "fascia": ["the external oblique aponeurosis", "the external oblique"],
    },
    "ventral_hernia_repair": {
        "site": ["midline", "periumbilical", "vertical midline"],
        "plane": ["the hernia sac", "the subcutaneous fat", "the sac off the fascia"],
        "exposed": ["the fascial edges", "the hernia defect", "the rectus sheath"],
        "specimen": ["the redundant hernia sac", "the excess sac", "the hernia sac"],
        "bed": ["the abdominal wall", "the subcutaneous space"],
        "defect": ["the fascial defect", "the abdominal wall defect", "the rectus sheath"],
        "fascia": ["the fascial defect", "the linea alba", "the anterior fascia"],
    },
    "appendectomy": {
        "site": ["McBurney", "right lower quadrant", "Lanz"],
        "plane": ["the mesoappendix", "the appendiceal mesentery", "the muscle layers"],
        "exposed": ["the caecum", "the appendix", "the peritoneum"],
        "vessel": ["the appendicular artery", "the mesoappendix vessels"],
        "specimen": ["the appendix", "the inflamed appendix"],
        "bed": ["the right iliac fossa", "the pelvis"],
        "fascia": ["the muscle layers", "the external oblique", "the peritoneum"],
    },
    "open_cholecystectomy": {
        "site": ["right subcostal", "Kocher subcostal"],
        "plane": ["Calot's triangle", "the hepatocystic triangle", "the gallbladder off the liver"],
        "exposed": ["the gallbladder", "the liver edge", "the porta hepatis"],
        "vessel": ["the cystic artery", "the cystic duct and artery"],
        "specimen": ["the gallbladder", "the inflamed gallbladder"],
        "bed": ["the liver bed", "the gallbladder fossa", "the subhepatic space"],
        "fascia": ["the fascia", "the muscle layers", "the posterior sheath"],
    },
    "bowel_resection": {
        "site": ["midline", "upper midline", "lower midline"],
        "plane": ["the mesentery", "the white line of Toldt", "the colon"],
        "exposed": ["the small bowel", "the colon", "the peritoneal cavity"],
        "vessel": ["the mesenteric vessels", "the ileocolic pedicle", "the marginal vessels"],
        "specimen": ["the diseased segment", "the bowel segment", "the tumour-bearing colon"],
        "bed": ["the abdominal cavity", "the peritoneal cavity"],
        "fascia": ["the linea alba", "the fascia", "the midline fascia"],
    },
    "mastectomy": {
        "site": ["elliptical", "transverse elliptical", "skin-sparing"],
        "plane": ["the skin flaps", "the breast off the pectoralis", "the superior flap"],
        "vessel": ["the perforating vessels", "the perforators", "the internal mammary perforators"],
        "specimen": ["the breast", "the breast tissue", "the mastectomy specimen"],
        "bed": ["the chest wall", "the pectoralis fascia", "the axillary space"],
    },
}

# Operation-level paraphrases (the manifest's operation `text`).
OP_PHRASES: dict[str, list[str]] = {
    "incision": [
        "[making|performing] a {site} [skin incision|incision]",
        "[incise|open] the skin [with|using] a {site} incision",
        "{site} [incision|skin incision|skin opening]",
    ],
    "dissection": [
        "[dissection|mobilisation] of {plane}",
        "[dissect|develop|mobilise] {plane}",
        "[sharp|blunt] dissection of {plane}",
        "[dissecting|freeing] {plane}",
    ],
    "exposure": [
        "exposure of {exposed}",
        "[expose|display|bring into view] {exposed}",
        "[retraction|retracting] to [expose|show] {exposed}",
        "[placing|positioning] retractors to expose {exposed}",
    ],
    "vessel_ligation": [
        "[ligation|division] of {vessel}",
        "[tie off|ligate|clip] {vessel}",
        "[ligating|clipping and dividing|tying] {vessel}",
        "control of {vessel} with [ties|clips|ligatures]",
    ],
    "nerve_identification": [
        "[identification|preservation] of {nerve}",
        "[identify|find|protect] {nerve}",
        "[identifying|tracing] {nerve} [to preserve it|before division]",
    ],
    "resection": [
        "[resection|removal|excision] of {specimen}",
        "[remove|excise|resect] {specimen}",
        "[dividing|detaching] {specimen} [from its bed|free]",
        "{specimen} is [removed|excised|taken out]",
    ],
    "hemostasis": [
        "hemostasis [in|of] {bed}",
        "[control|stop] bleeding in {bed}",
        "[cauterising|coagulating] bleeders in {bed}",
        "[checking|securing] hemostasis [in|of] {bed}",
    ],
    "irrigation": [
        "irrigation of {bed}",
        "[wash out|irrigate|rinse] {bed}",
        "[irrigating|washing] {bed} with [saline|warm saline]",
        "[saline|warm] [lavage|washout] of {bed}",
    ],
    "mesh_placement": [
        "[placing|positioning|fixing] {mesh} [over|across] {defect}",
        "[mesh repair|mesh reinforcement] of {defect}",
        "[place|lay|secure] {mesh} on {defect}",
    ],
    "anastomosis": [
        "[anastomosis|joining] of {bowel}",
        "[sew|join|reconnect] {bowel}",
        "[hand-sewn|two-layer|end-to-end] anastomosis",
        "[restoring continuity|creating the anastomosis] between {bowel}",
    ],
    "drain_placement": [
        "[placement|insertion] of {drain}",
        "[place|insert|leave] {drain} in {bed}",
        "[placing|positioning] {drain} [in|into] {bed}",
    ],
    "fascia_closure": [
        "closure of {fascia}",
        "[close|approximate|repair] {fascia}",
        "[closing|suturing] {fascia} with [running|interrupted] sutures",
        "[fascial|layered] closure of {fascia}",
    ],
    "skin_closure": [
        "[skin closure|closing the skin]",
        "[close|suture|staple] {skin}",
        "[subcuticular|interrupted] [sutures|stitches] to close {skin}",
        "[closing|approximating] {skin} [with staples|with a subcuticular suture]",
    ],
}

# Noun phrases listing the steps in the video-level description.
OP_NOUNS: dict[str, list[str]] = {
    "incision": ["a {site} [skin incision|incision]"],
    "dissection": ["[dissection|mobilisation] of {plane}"],
    "exposure": ["exposure of {exposed}"],
    "vessel_ligation": ["[ligation|division] of {vessel}"],
    "nerve_identification": ["[identification|preservation] of {nerve}"],
    "resection": ["[removal|excision|resection] of {specimen}"],
    "hemostasis": ["hemostasis [in|of] {bed}"],
    "irrigation": ["[irrigation|saline washout] of {bed}"],
    "mesh_placement": ["[placement|fixation] of {mesh} [over|on] {defect}"],
    "anastomosis": ["[an anastomosis of|reconnection of] {bowel}"],
    "drain_placement": ["[placement|insertion] of {drain}"],
    "fascia_closure": ["closure of {fascia}"],
    "skin_closure": ["[skin closure|closure of {skin}]"],
}

# Frame narrations: (third person, gerund) verb phrases and the anatomy slot they act on.
OP_ACTIONS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "incision": ("cut", [("incises", "incising"), ("cuts through", "cutting through"), ("opens", "opening")]),
    "dissection": (
        "plane",
        [("dissects", "dissecting"), ("frees", "freeing"), ("spreads", "spreading"), ("lifts", "lifting")],
    ),
    "exposure": (
        "exposed",
        [
            ("retracts tissue to expose", "retracting tissue to expose"),
            ("exposes", "exposing"),
            ("holds back tissue over", "holding back tissue over"),
        ],
    ),
    "vessel_ligation": (
        "vessel",
        [("clips", "clipping"), ("ties off", "tying off"), ("divides", "dividing"), ("ligates", "ligating")],
    ),
    "nerve_identification": (
        "nerve",
        [
            ("identifies", "identifying"),
            ("traces", "tracing"),
            ("gently separates", "gently separating"),
            ("protects", "protecting"),
        ],
    ),
    "resection": (
        "specimen",
        [("cuts away", "cutting away"), ("lifts", "lifting"), ("detaches", "detaching"), ("removes", "removing")],
    ),
    "hemostasis": (
        "bed",
        [
            ("coagulates bleeders in", "coagulating bleeders in"),
            ("suctions blood from", "suctioning blood from"),
            ("oversews a bleeder in", "oversewing a bleeder in"),
        ],
    ),
    "irrigation": (
        "bed",
        [("irrigates", "irrigating"), ("rinses", "rinsing"), ("suctions fluid from", "suctioning fluid from")],
    ),
    "mesh_placement": (
        "defect",
        [
            ("positions the mesh over", "positioning the mesh over"),
            ("sutures the mesh to", "suturing the mesh to"),
            ("trims the mesh over", "trimming the mesh over"),
        ],
    ),
    "anastomosis": (
        "bowel",
        [
            ("sews", "sewing"),
            ("places stitches through", "placing stitches through"),
            ("approximates", "approximating"),
        ],
    ),
    "drain_placement": (
        "bed",
        [
            ("places the drain in", "placing the drain in"),
            ("brings a drain out of", "bringing a drain out of"),
            ("secures the drain beside", "securing the drain beside"),
        ],
    ),
    "fascia_closure": (
        "fascia",
        [
            ("sutures", "suturing"),
            ("closes", "closing"),
            ("approximates", "approximating"),
            ("ties knots on", "tying knots on"),
        ],
    ),
    "skin_closure": (
        "skin",
        [
            ("sutures", "suturing"),
            ("closes", "closing"),
            ("everts", "everting"),
            ("places stitches in", "placing stitches in"),
        ],
    ),
}

INSTRUMENT_NAMES: dict[str, list[str]] = {
    "scalpel": ["scalpel", "blade", "no. 15 blade"],
    "scissors": ["scissors", "Metzenbaum scissors", "dissecting scissors"],
    "forceps": ["forceps", "tissue forceps", "Adson forceps", "DeBakey forceps"],
    "electrocautery": ["electrocautery", "diathermy", "Bovie pencil", "cautery"],
    "needle_driver": ["needle driver", "needle holder"],
    "retractor": ["retractor", "Army-Navy retractor", "self-retaining retractor"],
    "suction": ["suction", "Yankauer sucker", "suction tip"],
    "clip_applier": ["clip applier", "ligaclip applier"],
    "irrigator": ["irrigation syringe", "bulb syringe", "irrigator"],
}

NARRATION_TEMPLATES: list[str] = [
    "the surgeon {v3} {target} with the {instr}",
    "{ving} {target} with the {instr}",
    "[now|here] the surgeon uses the {instr} for {ving} {target}",
    "close-up of the {instr} {ving} {target}",
    "using the {instr}, the [surgeon|operator] {v3} {target}",
]

VIDEO_HEADERS: list[str] = [
    "{Name}: ",
    "Video of a {name}. ",
    "This recording shows a {name}: ",
    "Surgical video, {name}. ",
]
VIDEO_BODIES: list[str] = [
    "{first}, then {middle} and finally {last}.",
    "after {first}, the team proceeds with {middle}, followed by {last}.",
    "the procedure starts with {first}; next {middle}; it ends with {last}.",
]
