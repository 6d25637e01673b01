//! Azure regions: the values a resource's `location` may take.
//!
//! ARM compares locations by their normalised name: lower case with the spaces removed, so
//! "West Europe" is `westeurope`. A location outside the catalogue is refused on the request
//! (`LocationNotAvailableForResourceType`), and only its normalised name ever reaches a URL.

use super::ArmError;

/// A region: its normalised name, display name and geography.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub name: &'static str,
    pub display_name: &'static str,
    pub geography: &'static str,
}

macro_rules! regions {
    ($($name:literal, $display:literal, $geo:literal;)*) => {
        /// Azure's public regions.
        pub const REGIONS: &[Region] = &[
            $(Region { name: $name, display_name: $display, geography: $geo },)*
        ];
    };
}

regions! {
    "eastus", "East US", "United States";
    "eastus2", "East US 2", "United States";
    "centralus", "Central US", "United States";
    "northcentralus", "North Central US", "United States";
    "southcentralus", "South Central US", "United States";
    "westcentralus", "West Central US", "United States";
    "westus", "West US", "United States";
    "westus2", "West US 2", "United States";
    "westus3", "West US 3", "United States";
    "canadacentral", "Canada Central", "Canada";
    "canadaeast", "Canada East", "Canada";
    "mexicocentral", "Mexico Central", "Mexico";
    "brazilsouth", "Brazil South", "Brazil";
    "brazilsoutheast", "Brazil Southeast", "Brazil";
    "chilecentral", "Chile Central", "Chile";
    "northeurope", "North Europe", "Europe";
    "westeurope", "West Europe", "Europe";
    "uksouth", "UK South", "United Kingdom";
    "ukwest", "UK West", "United Kingdom";
    "francecentral", "France Central", "France";
    "francesouth", "France South", "France";
    "germanywestcentral", "Germany West Central", "Germany";
    "germanynorth", "Germany North", "Germany";
    "switzerlandnorth", "Switzerland North", "Switzerland";
    "switzerlandwest", "Switzerland West", "Switzerland";
    "norwayeast", "Norway East", "Norway";
    "norwaywest", "Norway West", "Norway";
    "swedencentral", "Sweden Central", "Sweden";
    "swedensouth", "Sweden South", "Sweden";
    "polandcentral", "Poland Central", "Poland";
    "italynorth", "Italy North", "Italy";
    "spaincentral", "Spain Central", "Spain";
    "austriaeast", "Austria East", "Austria";
    "belgiumcentral", "Belgium Central", "Belgium";
    "denmarkeast", "Denmark East", "Denmark";
    "eastasia", "East Asia", "Asia Pacific";
    "southeastasia", "Southeast Asia", "Asia Pacific";
    "japaneast", "Japan East", "Japan";
    "japanwest", "Japan West", "Japan";
    "koreacentral", "Korea Central", "Korea";
    "koreasouth", "Korea South", "Korea";
    "centralindia", "Central India", "India";
    "southindia", "South India", "India";
    "westindia", "West India", "India";
    "jioindiawest", "Jio India West", "India";
    "jioindiacentral", "Jio India Central", "India";
    "australiaeast", "Australia East", "Australia";
    "australiasoutheast", "Australia Southeast", "Australia";
    "australiacentral", "Australia Central", "Australia";
    "australiacentral2", "Australia Central 2", "Australia";
    "newzealandnorth", "New Zealand North", "New Zealand";
    "indonesiacentral", "Indonesia Central", "Indonesia";
    "malaysiawest", "Malaysia West", "Malaysia";
    "uaenorth", "UAE North", "United Arab Emirates";
    "uaecentral", "UAE Central", "United Arab Emirates";
    "qatarcentral", "Qatar Central", "Qatar";
    "israelcentral", "Israel Central", "Israel";
    "southafricanorth", "South Africa North", "South Africa";
    "southafricawest", "South Africa West", "South Africa";
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
}
