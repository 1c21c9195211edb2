"""Words the demo catalogue composes realistic records from, per language and region."""

TOPICS = {
    "en": [
        "Soil organic carbon",
        "Coral reef bleaching",
        "Groundwater recharge",
        "Malaria incidence",
        "Urban heat island",
        "Seagrass meadow extent",
        "Wheat yield response",
        "Glacier mass balance",
        "Bushfire smoke exposure",
        "Koala habitat occupancy",
        "Air quality sensor network",
        "River discharge",
        "Pollinator diversity",
        "Permafrost temperature",
        "Mangrove carbon stock",
    ],
    "de": ["Bodenfeuchte", "Grundwasserneubildung", "Stadtklima", "Waldbrandrisiko", "Moorböden"],
    "fr": ["Qualité de l'eau", "Rendement du mil", "Paludisme", "Couverture végétale", "Érosion côtière"],
    "es": ["Calidad del agua", "Deforestación", "Dengue", "Glaciares andinos", "Biodiversidad de anfibios"],
    "pt": ["Desmatamento na Amazônia", "Qualidade do ar", "Recursos hídricos", "Zika", "Solos do Cerrado"],
    "zh": ["土壤湿度", "冻土温度", "气溶胶光学厚度", "植被覆盖度", "降水观测", "湖泊水位", "大熊猫栖息地"],
    "ar": ["جودة المياه", "الغطاء النباتي", "درجات حرارة التربة", "هطول الأمطار", "التصحر"],
    "sw": ["Ubora wa maji", "Mavuno ya mahindi", "Malaria", "Misitu ya mikoko", "Mvua"],
    "ms": ["Kualiti udara", "Hutan paya gambut", "Denggi", "Terumbu karang", "Banjir monsun"],
}

PLACES = {
    "en": [
        "the Great Barrier Reef",
        "the Murray-Darling Basin",
        "Tasmania",
        "the Sahel",
        "the Alps",
        "the North Sea",
        "Kakadu",
        "the Rhine catchment",
        "Lake Victoria",
        "the Kalahari",
    ],
    "de": ["Brandenburg", "im Schwarzwald", "an der Elbe", "in den Alpen"],
    "fr": ["au Sénégal", "au Sahel", "au Burkina Faso", "en Côte d'Ivoire"],
    "es": ["en la Patagonia", "en los Andes", "en el Chaco", "en Yucatán"],
    "pt": ["no Pará", "em Minas Gerais", "na Bahia", "no Pantanal"],
    "zh": ["青藏高原", "长江流域", "华北平原", "黄土高原", "南海", "塔里木盆地"],
    "ar": ["وادي النيل", "الصحراء الكبرى", "دلتا النيل", "جبال الأطلس"],
    "sw": ["Tanzania", "Kenya", "Ziwa Victoria", "Zanzibar"],
    "ms": ["di Sarawak", "di Sabah", "di Selangor", "di Pahang"],
}

TEMPLATES = {
    "en": "{topic} in {place}, {year}",
    "de": "{topic} {place} {year}",
    "fr": "{topic} {place} ({year})",
    "es": "{topic} {place}, {year}",
    "pt": "{topic} {place}, {year}",
    "zh": "{place}{topic}数据集（{year}）",
    "ar": "بيانات {topic} في {place} {year}",
    "sw": "{topic} nchini {place}, {year}",
    "ms": "{topic} {place}, {year}",
}

DESCRIPTIONS = {
    "en": "Observations and derived products collected by the project team; see the methods file.",
    "de": "Messreihen und abgeleitete Produkte des Projekts; Methoden siehe Begleitdokument.",
    "fr": "Observations et produits dérivés collectés par l'équipe du projet.",
    "es": "Observaciones y productos derivados recolectados por el equipo del proyecto.",
    "pt": "Observações e produtos derivados coletados pela equipe do projeto.",
    "zh": "本数据集包含项目组采集的观测数据及其衍生产品，方法说明见附件。",
    "ar": "تتضمن هذه المجموعة بيانات رصدية ومنتجات مشتقة جمعها فريق المشروع.",
    "sw": "Takwimu za uchunguzi zilizokusanywa na timu ya mradi.",
    "ms": "Data cerapan dan produk terbitan yang dikumpul oleh pasukan projek.",
}

NAMES = {
    "europe": [
        ("Müller", "Anna"),
        ("Rossi", "Giulia"),
        ("Dubois", "Camille"),
        ("García López", "María"),
        ("Kowalski", "Piotr"),
        ("Nielsen", "Søren"),
        ("O'Brien", "Siobhán"),
        ("Novák", "Jan"),
    ],
    "australia": [
        ("Nguyen", "Thi Mai"),
        ("Smith", "Olivia"),
        ("Walker", "Jack"),
        ("Singh", "Priya"),
        ("Yunupingu", "Galarrwuy"),
        ("Chen", "Lucas"),
    ],
    "china": [("Wang", "Wei"), ("Li", "Na"), ("Zhang", "Min"), ("Liu", "Yang"), ("Chen", "Jing"), ("Zhao", "Lei")],
    "africa": [
        ("Okafor", "Chidi"),
        ("Mensah", "Ama"),
        ("Diallo", "Aminata"),
        ("Mwangi", "Wanjiru"),
        ("El-Sayed", "Mona"),
        ("Nkosi", "Thabo"),
        ("Haddad", "Youssef"),
    ],
    "latin-america": [
        ("Silva", "João"),
        ("González", "Camila"),
        ("Pérez", "Andrés"),
        ("Oliveira", "Beatriz"),
        ("Rodríguez", "Valentina"),
        ("Quispe", "Rosa"),
    ],
    "malaysia": [("Abdullah", "Nurul"), ("Tan", "Mei Ling"), ("Rajendran", "Kavitha"), ("Ismail", "Ahmad")],
}

AFFILIATIONS = {
    "europe": ["CERN", "University of Amsterdam", "CNRS", "Max Planck Society", "Sapienza University of Rome"],
    "australia": ["CSIRO", "University of Melbourne", "James Cook University", "TERN"],
    "china": ["Chinese Academy of Sciences", "Peking University", "Tsinghua University"],
    "africa": ["University of Cape Town", "University of Nairobi", "Cheikh Anta Diop University", "Cairo University"],
    "latin-america": ["Universidade de São Paulo", "Universidad de Chile", "UNAM", "CONICET"],
    "malaysia": ["Universiti Malaya", "Universiti Sains Malaysia"],
}

SUBJECTS = [
    "climate change",
    "biodiversity",
    "hydrology",
    "public health",
    "remote sensing",
    "agriculture",
    "oceanography",
    "soil science",
    "epidemiology",
    "ecology",
    "geology",
]

LICENSE_NAMES = {
    "https://creativecommons.org/licenses/by/4.0/": "Creative Commons Attribution 4.0 International",
    "https://creativecommons.org/publicdomain/zero/1.0/": "Creative Commons Zero v1.0 Universal",
    "https://creativecommons.org/licenses/by-nc/4.0/": "Creative Commons Attribution Non Commercial 4.0",
    "https://creativecommons.org/licenses/by-sa/4.0/": "Creative Commons Attribution Share Alike 4.0",
}
LICENSES = [
    "https://creativecommons.org/licenses/by/4.0/",
    "https://creativecommons.org/publicdomain/zero/1.0/",
    "https://creativecommons.org/licenses/by-nc/4.0/",
    "https://creativecommons.org/licenses/by-sa/4.0/",
]

# DataCite resourceTypeGeneral → how an oai_dc provider writes it (info:eu-repo / DCMI type)
TYPES = {
    "Dataset": "Dataset",
    "JournalArticle": "info:eu-repo/semantics/article",
    "Software": "Software",
    "Dissertation": "info:eu-repo/semantics/doctoralThesis",
    "Preprint": "info:eu-repo/semantics/preprint",
}
COAR = {
    "Dataset": "c_ddb1",
    "JournalArticle": "c_6501",
    "Software": "c_5ce6",
    "Dissertation": "c_db06",
    "Preprint": "c_816b",
}
LANG3 = {
    "en": "eng",
    "de": "deu",
    "fr": "fra",
    "es": "spa",
    "pt": "por",
    "zh": "zho",
    "ar": "ara",
    "sw": "swa",
    "ms": "msa",
}


# words of the long abstracts a benchmark partner may give its records (Partner.long_abstracts):
# common words of research abstracts, enough of them that the text compresses about as prose does
ABSTRACT_WORDS = """
the of and in to a is for on with by that from this we are as at be an was were which these our
data dataset datasets study results method methods analysis model models observed observations
measured measurements sampling samples sites site across between during over under within using
used based approach framework estimates estimated uncertainty variability trends temporal spatial
resolution regional global local annual seasonal monthly daily long-term short-term field laboratory
protocol protocols calibrated sensors sensor records archive collection collected surveys survey
species community communities population populations habitat habitats ecosystem ecosystems soil
soils water groundwater rainfall precipitation temperature climate carbon nitrogen vegetation cover
land forest forests coastal marine river rivers catchment basin urban rural agricultural crop crops
yield health disease incidence exposure risk mortality cohort clinical participants patients
interviews questionnaire responses policy governance stakeholders infrastructure network networks
satellite remote sensing imagery images maps mapping spectral index indices simulation simulations
scenarios projections emissions energy transport economic social gender education outcomes impact
impacts response responses change changes increase increased decrease decreased significant
significantly higher lower mean median standard deviation range values value parameters variables
processing quality control validation documented provides provided includes including available
open access reuse licence metadata file files format formats code software version versions
""".split()
