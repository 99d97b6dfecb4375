//! Bilingual enumerations: every coded answer carries its stable wire code, its
//! Simplified Chinese label and its English label.

/// Interface language. 简体中文 first, English available.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
pub enum Lang {
    /// 简体中文
    #[default]
    Zh,
    /// English
    En,
}

/// A coded answer: the code is what the document stores, the labels are what people read.
pub trait Coded: Sized + Copy + 'static {
    /// The list's name (the Rust type's), as `protocol/huhujian.json` names it.
    const NAME: &'static str;
    /// Every variant, in display order.
    const ALL: &'static [Self];
    /// The stable code stored in documents and sent on the wire.
    fn code(self) -> &'static str;
    /// 中文标签.
    fn zh(self) -> &'static str;
    /// English label.
    fn en(self) -> &'static str;
    /// The label in `lang`.
    fn label(self, lang: Lang) -> &'static str {
        match lang {
            Lang::Zh => self.zh(),
            Lang::En => self.en(),
        }
    }
    /// Parse a stored code.
    fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.code() == code)
    }
}

/// Declares a coded enum: `Variant = ("code", "中文", "English")`.
macro_rules! coded_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = ($code:literal, $zh:literal, $en:literal) ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $( $(#[$vmeta])* #[doc = $zh] #[serde(rename = $code)] $variant ),+
        }

        impl $crate::label::Coded for $name {
            const NAME: &'static str = stringify!($name);
            const ALL: &'static [Self] = &[$(Self::$variant),+];
            fn code(self) -> &'static str { match self { $(Self::$variant => $code),+ } }
            fn zh(self) -> &'static str { match self { $(Self::$variant => $zh),+ } }
            fn en(self) -> &'static str { match self { $(Self::$variant => $en),+ } }
        }
    };
}
pub(crate) use coded_enum;
