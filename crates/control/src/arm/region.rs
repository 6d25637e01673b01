//! Azure regions: the values a resource's `location` may take.
//!
//! ARM compares locations by their normalised name: lower case with the spaces removed, so
//! "West Europe" is `westeurope`. A location outside the catalogue is refused on the request
//! (`LocationNotAvailableForResourceType`), and only its normalised name ever reaches a URL.
//!
//! Each region also sits in an ExpressRoute *geopolitical region* ([`Region::area`]): what a
//! Standard circuit reaches from a peering location in that area (`crate::reach`). Areas
//! belong to a cloud; the sovereign clouds' areas (US Government, China) are known so a
//! catalogue may place a peering location in them, but their regions are not locations of
//! this (public) deployment, and nothing crosses from one cloud to another.

use super::ArmError;

/// A region: its normalised name, display name, geography (as `/locations` shows it) and
/// ExpressRoute geopolitical region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub name: &'static str,
    pub display_name: &'static str,
    pub geography: &'static str,
    pub area: &'static str,
}

impl Region {
    /// The cloud the region belongs to.
    pub fn cloud(&self) -> &'static str {
        cloud_of(self.area).unwrap_or(PUBLIC_CLOUD)
    }
}

/// The cloud this deployment is: its regions are the valid resource locations.
pub const PUBLIC_CLOUD: &str = "AzureCloud";

/// ExpressRoute's geopolitical regions and the cloud each belongs to.
pub const AREAS: &[(&str, &str)] = &[
    ("North America", PUBLIC_CLOUD),
    ("South America", PUBLIC_CLOUD),
    ("Europe", PUBLIC_CLOUD),
    ("Asia", PUBLIC_CLOUD),
    ("Japan", PUBLIC_CLOUD),
    ("Korea", PUBLIC_CLOUD),
    ("India", PUBLIC_CLOUD),
    ("Australia", PUBLIC_CLOUD),
    ("Australia Government", PUBLIC_CLOUD),
    ("Middle East", PUBLIC_CLOUD),
    ("Africa", PUBLIC_CLOUD),
    ("US Government", "AzureUSGovernment"),
    ("China", "AzureChinaCloud"),
];

/// The cloud of a geopolitical region (matched case-insensitively), if it is one.
pub fn cloud_of(area: &str) -> Option<&'static str> {
    AREAS
        .iter()
        .find(|(a, _)| a.eq_ignore_ascii_case(area))
        .map(|&(_, c)| c)
}

/// The canonical spelling of a geopolitical region.
pub fn area(name: &str) -> Option<&'static str> {
    AREAS
        .iter()
        .find(|(a, _)| a.eq_ignore_ascii_case(name))
        .map(|&(a, _)| a)
}

macro_rules! regions {
    ($($name:literal, $display:literal, $geo:literal, $area:literal;)*) => {
        /// Azure's public regions.
        pub const REGIONS: &[Region] = &[
            $(Region { name: $name, display_name: $display, geography: $geo, area: $area },)*
        ];
    };
}

regions! {
    "eastus", "East US", "United States", "North America";
    "eastus2", "East US 2", "United States", "North America";
    "centralus", "Central US", "United States", "North America";
    "northcentralus", "North Central US", "United States", "North America";
    "southcentralus", "South Central US", "United States", "North America";
    "westcentralus", "West Central US", "United States", "North America";
    "westus", "West US", "United States", "North America";
    "westus2", "West US 2", "United States", "North America";
    "westus3", "West US 3", "United States", "North America";
    "canadacentral", "Canada Central", "Canada", "North America";
    "canadaeast", "Canada East", "Canada", "North America";
    "mexicocentral", "Mexico Central", "Mexico", "North America";
    "brazilsouth", "Brazil South", "Brazil", "South America";
    "brazilsoutheast", "Brazil Southeast", "Brazil", "South America";
    "chilecentral", "Chile Central", "Chile", "South America";
    "northeurope", "North Europe", "Europe", "Europe";
    "westeurope", "West Europe", "Europe", "Europe";
    "uksouth", "UK South", "United Kingdom", "Europe";
    "ukwest", "UK West", "United Kingdom", "Europe";
    "francecentral", "France Central", "France", "Europe";
    "francesouth", "France South", "France", "Europe";
    "germanywestcentral", "Germany West Central", "Germany", "Europe";
    "germanynorth", "Germany North", "Germany", "Europe";
    "switzerlandnorth", "Switzerland North", "Switzerland", "Europe";
    "switzerlandwest", "Switzerland West", "Switzerland", "Europe";
    "norwayeast", "Norway East", "Norway", "Europe";
    "norwaywest", "Norway West", "Norway", "Europe";
    "swedencentral", "Sweden Central", "Sweden", "Europe";
    "swedensouth", "Sweden South", "Sweden", "Europe";
    "polandcentral", "Poland Central", "Poland", "Europe";
    "italynorth", "Italy North", "Italy", "Europe";
    "spaincentral", "Spain Central", "Spain", "Europe";
    "austriaeast", "Austria East", "Austria", "Europe";
    "belgiumcentral", "Belgium Central", "Belgium", "Europe";
    "denmarkeast", "Denmark East", "Denmark", "Europe";
    "eastasia", "East Asia", "Asia Pacific", "Asia";
    "southeastasia", "Southeast Asia", "Asia Pacific", "Asia";
    "japaneast", "Japan East", "Japan", "Japan";
    "japanwest", "Japan West", "Japan", "Japan";
    "koreacentral", "Korea Central", "Korea", "Korea";
    "koreasouth", "Korea South", "Korea", "Korea";
    "centralindia", "Central India", "India", "India";
    "southindia", "South India", "India", "India";
    "westindia", "West India", "India", "India";
    "jioindiawest", "Jio India West", "India", "India";
    "jioindiacentral", "Jio India Central", "India", "India";
    "australiaeast", "Australia East", "Australia", "Australia";
    "australiasoutheast", "Australia Southeast", "Australia", "Australia";
    "australiacentral", "Australia Central", "Australia", "Australia Government";
    "australiacentral2", "Australia Central 2", "Australia", "Australia Government";
    "newzealandnorth", "New Zealand North", "New Zealand", "Australia";
    "indonesiacentral", "Indonesia Central", "Indonesia", "Asia";
    "malaysiawest", "Malaysia West", "Malaysia", "Asia";
    "uaenorth", "UAE North", "United Arab Emirates", "Middle East";
    "uaecentral", "UAE Central", "United Arab Emirates", "Middle East";
    "qatarcentral", "Qatar Central", "Qatar", "Middle East";
    "israelcentral", "Israel Central", "Israel", "Middle East";
    "southafricanorth", "South Africa North", "South Africa", "Africa";
    "southafricawest", "South Africa West", "South Africa", "Africa";
}

/// The regions of the sovereign clouds: known for reach (a peering location in their areas
/// reaches them), never valid locations of this deployment.
pub const SOVEREIGN: &[Region] = &[
    Region {
        name: "usgovvirginia",
        display_name: "USGov Virginia",
        geography: "United States",
        area: "US Government",
    },
    Region {
        name: "usgovtexas",
        display_name: "USGov Texas",
        geography: "United States",
        area: "US Government",
    },
    Region {
        name: "usgovarizona",
        display_name: "USGov Arizona",
        geography: "United States",
        area: "US Government",
    },
    Region {
        name: "chinanorth",
        display_name: "China North",
        geography: "China",
        area: "China",
    },
    Region {
        name: "chinaeast",
        display_name: "China East",
        geography: "China",
        area: "China",
    },
    Region {
        name: "chinanorth2",
        display_name: "China North 2",
        geography: "China",
        area: "China",
    },
    Region {
        name: "chinaeast2",
        display_name: "China East 2",
        geography: "China",
        area: "China",
    },
    Region {
        name: "chinanorth3",
        display_name: "China North 3",
        geography: "China",
        area: "China",
    },
    Region {
        name: "chinaeast3",
        display_name: "China East 3",
        geography: "China",
        area: "China",
    },
];

/// A region of any cloud, for reach: a catalogue's local regions may name sovereign ones.
pub fn find_any(location: &str) -> Option<&'static Region> {
    let n = normalize(location);
    REGIONS.iter().chain(SOVEREIGN).find(|r| r.name == n)
}

/// The regions of a geopolitical region.
pub fn in_area(area: &str) -> impl Iterator<Item = &'static Region> + '_ {
    REGIONS
        .iter()
        .chain(SOVEREIGN)
        .filter(move |r| r.area.eq_ignore_ascii_case(area))
}

/// ARM's normalised form of a location: lower case, whitespace removed.
pub fn normalize(location: &str) -> String {
    location
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The region a location names, if any.
pub fn find(location: &str) -> Option<&'static Region> {
    let n = normalize(location);
    REGIONS.iter().find(|r| r.name == n)
}

/// Validates a body's `location` (at `field`): a region of the catalogue.
pub fn validate(location: &str, field: &str) -> Result<&'static Region, ArmError> {
    find(location).ok_or_else(|| {
        let shown: String = location.chars().take(64).collect();
        ArmError::bad_request(
            "LocationNotAvailableForResourceType",
            format!(
                "'{field}' = '{shown}' is not an Azure region this deployment knows; use a region name such as westeurope or eastus (\"West Europe\" is accepted too)."
            ),
        )
    })
}

/// Whether two locations name the same region (`westeurope` and `West Europe` do).
pub fn same(a: &str, b: &str) -> bool {
    normalize(a) == normalize(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_and_names_are_the_same_region() {
        assert_eq!(find("West Europe").map(|r| r.name), Some("westeurope"));
        assert_eq!(find("westeurope").map(|r| r.name), Some("westeurope"));
        assert!(same("East US 2", "eastus2"));
        for bad in ["west/../../europe", "west?europe#x", "", "Mars Central"] {
            assert!(validate(bad, "location").is_err(), "{bad}");
        }
        let long = "x".repeat(65_536);
        let e = validate(&long, "location").unwrap_err();
        assert!(e.message.len() < 400, "the error does not echo 64 KB");
    }

    #[test]
    fn every_display_name_normalises_to_its_name() {
        for r in REGIONS {
            assert_eq!(normalize(r.display_name), r.name, "{}", r.display_name);
        }
    }

    #[test]
    fn every_region_sits_in_a_known_area_of_its_cloud() {
        for r in REGIONS {
            assert_eq!(cloud_of(r.area), Some(PUBLIC_CLOUD), "{}", r.name);
        }
        for r in SOVEREIGN {
            assert_ne!(r.cloud(), PUBLIC_CLOUD, "{}", r.name);
            assert!(find(r.name).is_none(), "{} is not a location here", r.name);
            assert_eq!(find_any(r.name).map(|x| x.name), Some(r.name));
        }
        assert_eq!(area("north america"), Some("North America"));
        assert!(in_area("Europe").any(|r| r.name == "westeurope"));
        assert!(!in_area("Europe").any(|r| r.name == "eastus"));
    }
}
